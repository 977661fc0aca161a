package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coldaisle/coldaisle/drivers/serialport"
)

// TestRunConsoleOnStdioKeepsTheTerminal runs `coldaisle run --console stdio` on a real pty
// (stdin, stdout and stderr all the same terminal, as in a shell) against the twin, logs in and
// runs commands. Nothing but the console may write to that terminal: the log lines (the first
// command written, the field's) go to the log file beside the database, and the only other line
// on the terminal is the one, before the login prompt, that says where they go.
func TestRunConsoleOnStdioKeepsTheTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary on a pty against the twin")
	}
	bin := testBinary(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := startTwin(t, ctx, dir)
	cfgPath, dbPath := filepath.Join(dir, "site.toml"), filepath.Join(dir, "state.db")
	writeConfig(t, cfgPath, cfg)

	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer pty.Close()
	slave, err := os.OpenFile(pty.SlavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", cfgPath, "--db", dbPath, "--console", "stdio")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var screen strings.Builder
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := pty.Master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := 0
	expect := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			out := screen.String()
			mu.Unlock()
			if i := strings.Index(out[seen:], want); i >= 0 {
				seen += i + len(want)
				return
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("waited 20 s for %q; the terminal shows:\n%s", want, out)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	typ := func(s string) {
		t.Helper()
		if _, err := pty.Master.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "state.log")
	expect("log lines go to " + logPath)
	expect("login: ")
	typ("admin\r")
	expect("Password: ")
	typ("coldaisle\r")
	expect("New password: ")
	typ("fan-wall-2025\r")
	expect("Retype new password: ")
	typ("fan-wall-2025\r")
	expect("> ")
	// The controller logs while the technician works: wait for its first lines in the file.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "first command written") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log file has no 'first command written' after 20 s:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	typ("show status\r")
	expect("alarms")
	expect("> ")
	typ("show units\r")
	expect("fan kW")
	expect("> ")
	typ("exit\r")
	expect("login: ")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	pty.Master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	<-readDone

	mu.Lock()
	out := screen.String()
	mu.Unlock()
	login := strings.Index(out, "login: ")
	if n := strings.Count(out, "coldaisle: "); n != 1 || strings.Index(out, "coldaisle: ") > login {
		t.Errorf("log lines on the console's terminal (%d, want only the notice before the login prompt):\n%s", n, out)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "first command written") || !strings.Contains(string(b), "level=INFO msg=") {
		t.Errorf("log file:\n%s", b)
	}
	t.Logf("log file:\n%s", b)
}
