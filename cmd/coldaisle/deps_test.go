package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDepsInstallsCompiler runs scripts/deps.sh on a PATH that has every test peer but no C
// compiler (the host tests run with -race, which needs cgo): it must ask apt-get for gcc. apt-get
// is a stub that records its arguments; nothing is installed.
func TestDepsInstallsCompiler(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	idPath, err := exec.LookPath("id")
	if err != nil {
		t.Skip("no id")
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "apt-get.log")
	stub := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, peer := range []string{"socat", "mbpoll", "qemu-arm-static", "ip"} {
		stub(peer, "exit 0")
	}
	stub("apt-get", `echo "$@" >>`+record)
	stub("sudo", `"$@"`)
	if err := os.Symlink(idPath, filepath.Join(dir, "id")); err != nil {
		t.Fatal(err)
	}
	runDeps := func() []byte {
		t.Helper()
		cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "deps.sh"))
		cmd.Path, _ = exec.LookPath("bash") // found on the test's PATH, run on the stub one
		cmd.Env = []string{"PATH=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("deps.sh: %v\n%s", err, out)
		}
		return out
	}
	out := runDeps()
	log, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("deps.sh did not run apt-get without a C compiler on PATH:\n%s", out)
	}
	var installed bool
	for _, line := range strings.Split(string(log), "\n") {
		if strings.HasPrefix(line, "install") && strings.Contains(" "+line+" ", " gcc ") {
			installed = true
		}
	}
	if !installed {
		t.Fatalf("deps.sh did not install gcc; apt-get was called with:\n%s\noutput:\n%s", log, out)
	}

	// With a compiler on PATH nothing more is asked for.
	stub("cc", "exit 0")
	os.Remove(record)
	runDeps()
	if log, err := os.ReadFile(record); err == nil && strings.Contains(string(log), "gcc") {
		t.Fatalf("deps.sh installs gcc although cc is on PATH:\n%s", log)
	}
}
