package console_test

import (
	"os"
	"strings"
	"testing"
)

const transcriptStart = "// A session on the serial console, as TestDocTranscript types it (and checks this copy):"

// transcript types the session shown in doc.go and returns the screen.
func transcript(t *testing.T) string {
	h := newTech(t, setup{})
	h.Expect("login: ")
	h.Type("admin\r")
	h.Expect("Password: ")
	h.Type("coldaisle\r")
	h.Expect("New password: ")
	h.Type("fan-wall-2025\r")
	h.Expect("Retype new password: ")
	h.Type("fan-wall-2025\r")
	h.Expect(opPrompt)
	h.Ask("show ?", opPrompt+"show ", "history")
	h.Run("sens\t", opPrompt)
	h.Run("loop crah-1 manual 20", opPrompt)
	h.Run("configure", cfgPrompt)
	h.Run("set unit crah-9 min_fan_pct 35", cfgPrompt)
	h.Type("set unit crah-1 min_f\t")
	h.WaitLine(cfgPrompt + "set unit crah-1 min_fan_pct ")
	h.Run("35", cfgPrompt)
	h.Run("show diff", cfgPrompt)
	h.Run("commit confirmed 5", cfgPrompt)
	h.Run("commit", cfgPrompt)
	h.Run("exit", opPrompt)
	h.Run("exit", "login: ")
	return h.Screen()
}

// TestDocTranscript keeps the transcript in doc.go true. COLDAISLE_UPDATE_DOC=1 rewrites it.
func TestDocTranscript(t *testing.T) {
	got := transcript(t)
	checkWidth(t, "transcript", got)
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	start := -1
	for i, l := range lines {
		if l == transcriptStart {
			start = i + 2 // the marker, then a "//" line
			break
		}
	}
	if start < 0 {
		t.Fatalf("doc.go lacks the line %q", transcriptStart)
	}
	end := start
	for end < len(lines) && (strings.HasPrefix(lines[end], "//\t") || lines[end] == "//") {
		end++
	}
	for end > start && lines[end-1] == "//" {
		end--
	}
	var doc []string
	for _, l := range lines[start:end] {
		doc = append(doc, strings.TrimPrefix(strings.TrimPrefix(l, "//"), "\t"))
	}
	want := strings.TrimRight(got, "\n")
	if strings.Join(doc, "\n") == want {
		return
	}
	if os.Getenv("COLDAISLE_UPDATE_DOC") == "" {
		t.Fatalf("doc.go transcript is out of date (COLDAISLE_UPDATE_DOC=1 go test -run TestDocTranscript rewrites it); the session now shows:\n%s", got)
	}
	var block []string
	for _, l := range strings.Split(want, "\n") {
		if l == "" {
			block = append(block, "//")
		} else {
			block = append(block, "//\t"+l)
		}
	}
	out := append(append(append([]string(nil), lines[:start]...), block...), lines[end:]...)
	if err := os.WriteFile("doc.go", []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("doc.go transcript rewritten")
}
