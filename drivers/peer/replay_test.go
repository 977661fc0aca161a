package peer

import (
	"math/rand/v2"
	"testing"
)

func TestWindowRules(t *testing.T) {
	var w Window
	steps := []struct {
		seq  uint64
		want Verdict
	}{
		{0, Old}, {5, Fresh}, {5, Seen}, {3, Late}, {3, Seen}, {6, Fresh}, {4, Late},
		{300, Fresh}, {6, Old}, {300 - 255, Late}, {300 - 256, Old}, {299, Late}, {299, Seen},
		{1000, Fresh}, {300, Old}, {1000, Seen},
	}
	for i, s := range steps {
		if got := w.Accept(s.seq); got != s.want {
			t.Fatalf("step %d: seq %d is %d, want %d", i, s.seq, got, s.want)
		}
	}
}

// The window agrees with a plain set of seen numbers for everything inside it, over random
// reorderings and repeats, across word boundaries of the bitmap.
func TestWindowAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var w Window
	seen := map[uint64]bool{}
	var high uint64
	for range 200000 {
		var seq uint64
		switch r := rng.IntN(10); {
		case r < 6:
			seq = high + 1 + uint64(rng.IntN(70))
		default:
			seq = max(1, high-uint64(rng.IntN(300))) // around and beyond the window's edge
		}
		var want Verdict
		switch {
		case seq > high:
			want = Fresh
		case high-seq >= WindowBits:
			want = Old
		case seen[seq]:
			want = Seen
		default:
			want = Late
		}
		if got := w.Accept(seq); got != want {
			t.Fatalf("seq %d (high %d): %d, want %d", seq, high, got, want)
		}
		if want == Fresh || want == Late {
			seen[seq] = true
			high = max(high, seq)
		}
	}
}

func TestWindowMarshal(t *testing.T) {
	var w Window
	for _, s := range []uint64{1, 3, 70, 200, 64} {
		w.Accept(s)
	}
	b, _ := w.MarshalBinary()
	var v Window
	if err := v.UnmarshalBinary(b); err != nil || v != w {
		t.Fatalf("%v: %+v != %+v", err, v, w)
	}
	if v.Accept(70) != Seen || v.Accept(2) != Late {
		t.Error("restored window forgot what it had seen")
	}
	if err := v.UnmarshalBinary(b[:39]); err == nil {
		t.Error("39 bytes accepted")
	}
}
