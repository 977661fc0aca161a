package mesh

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// readHex reads a testdata file of hex bytes; '#' starts a comment, whitespace is ignored.
func readHex(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	for line := range strings.SplitSeq(string(raw), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return hex.DecodeString(sb.String())
}

func mustHex(t testing.TB, path string) []byte {
	t.Helper()
	b, err := readHex(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}
