package tomlpos_test

import (
	"testing"

	"github.com/coldaisle/coldaisle/control/tomlpos"
)

func TestLocator(t *testing.T) {
	doc := `a = 1 # c [x]
s = "has [brackets] and # hash"
m = """
multi
line"""
arr = [
  1,
  { k = "v", n = [2, 3] },
]
[t]
x.y = 2
[[u]]
name = "one"
[[u]]
name = "two"
[u.sub]
q = 'lit'
`
	l := tomlpos.Locate([]byte(doc))
	for path, line := range map[string]int{
		"a": 1, "s": 2, "m": 3, "arr": 6, "arr[0]": 7, "arr[1]": 8, "arr[1].k": 8, "arr[1].n[1]": 8,
		"t": 10, "t.x.y": 11, "u[0]": 12, "u[0].name": 13, "u[1].name": 15, "u[1].sub": 16, "u[1].sub.q": 17,
		"u[1].sub.nope": 16, "zzz": 0,
	} {
		if got := l.Line(path); got != line {
			t.Errorf("Line(%q) = %d, want %d", path, got, line)
		}
	}
	if p, n := l.Nth("u.name", 1); p != "u[1].name" || n != 15 {
		t.Errorf("Nth = %q %d", p, n)
	}
}
