// Package transcript replays data-driven test transcripts, in the style of etcd-io/raft's
// interaction tests, for the state machines of control/ (the engine, the pair): a file under
// testdata is blocks separated by a blank line; a block is comment lines (#), one command line
// and the output the command must print. With the test's -update flag the files are rewritten
// with what the code prints now (review the diff: it is the change in behaviour).
//
// Test code only: nothing outside _test.go files imports it.
package transcript

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Run replays every file matching glob as a subtest. For each file it calls start once, then
// run with each command line in order, and compares what run returns with the block's output.
// With update it rewrites the file instead of comparing.
func Run(t *testing.T, glob string, update bool, start func(t *testing.T) (run func(cmd string) string)) {
	t.Helper()
	files, _ := filepath.Glob(glob)
	if len(files) == 0 {
		t.Fatal("no transcripts match " + glob)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			run := start(t)
			var out strings.Builder
			for _, b := range strings.Split(strings.TrimRight(string(data), "\n"), "\n\n") {
				lines := strings.Split(b, "\n")
				var comments []string
				for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
					comments = append(comments, lines[0])
					lines = lines[1:]
				}
				if len(lines) == 0 {
					out.WriteString(strings.Join(comments, "\n") + "\n\n")
					continue
				}
				cmd := lines[0]
				got := run(cmd)
				if want := strings.Join(lines[1:], "\n"); !update && got != want {
					t.Errorf("%s: %s\n got:\n%s\nwant:\n%s", f, cmd, got, want)
				}
				for _, c := range comments {
					out.WriteString(c + "\n")
				}
				out.WriteString(cmd + "\n")
				if got != "" {
					out.WriteString(got + "\n")
				}
				out.WriteString("\n")
			}
			if update {
				if err := os.WriteFile(f, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
