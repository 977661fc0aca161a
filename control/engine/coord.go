package engine

import "math"

// allocator splits the zones' airflow demands over the units that are free to move.
//
// It solves, every period,
//
//	minimise   sum_u f_u^3                       (fan power goes with the cube of speed)
//	subject to sum_u W[z][u] f_u >= D[z]  for every zone z
//	           lo_u <= f_u <= hi_u               for the free (auto) units
//
// where W[z][u] is unit u's share of zone z's cold air (0 for a unit that is tripped, isolated or in
// fallback: its share is simply missing, so the others take it over at once, the feed-forward on a
// trip) and fixed units (manual, fail-safe, tracking) contribute their known speed. The problem is
// convex and separable; dual coordinate ascent over one multiplier per zone converges in a few sweeps
// and is warm-started from the previous period, so a steady room costs one sweep.
//
// The KKT conditions give f_u = clamp(sqrt(sum_z lambda_z W[z][u])): a unit with a larger share
// of a zone follows that zone's demand more (with a single zone, f_u is proportional to sqrt(W)),
// and a zone whose constraint is already met by what other zones force (lambda_z = 0) does not
// move anything: that is the max-selector, done properly for overlapping zones.
type allocator struct {
	lambda []float64 // per zone, warm start
	s      []float64 // per unit, sum_z lambda_z W[z][u]
}

// allocInput is one period's problem.
type allocInput struct {
	W      [][]float64 // [zone][unit] effective shares (0 for absent units)
	D      []float64   // [zone] demand
	Free   []bool      // [unit] the allocator chooses f
	Fixed  []float64   // [unit] speed of a non-free unit (ignored when Free)
	Lo, Hi []float64   // [unit] limits of free units
	// LamFloor [zone] (nil: none): a multiplier does not go below this. The engine lets each one
	// fall only gradually, so a zone does not lend its units to a neighbour the moment the
	// neighbour's demand rises (its own sensors may not have reported the same load yet).
	LamFloor []float64
}

func (a *allocator) solve(in *allocInput, f []float64) {
	nz, nu := len(in.D), len(in.Free)
	if len(a.lambda) != nz {
		a.lambda = make([]float64, nz)
	}
	if len(a.s) != nu {
		a.s = make([]float64, nu)
	}
	fixed := make([]float64, nz) // contribution of the non-free units per zone
	for z := 0; z < nz; z++ {
		for u := 0; u < nu; u++ {
			if !in.Free[u] {
				fixed[z] += in.W[z][u] * in.Fixed[u]
			}
		}
		if math.IsNaN(a.lambda[z]) || a.lambda[z] < 0 {
			a.lambda[z] = 0
		}
	}
	recompute := func() {
		for u := 0; u < nu; u++ {
			a.s[u] = 0
			if !in.Free[u] {
				continue
			}
			for z := 0; z < nz; z++ {
				a.s[u] += a.lambda[z] * in.W[z][u]
			}
		}
	}
	fOf := func(u int, s float64) float64 {
		if s < 0 {
			s = 0
		}
		return clamp(math.Sqrt(s), in.Lo[u], in.Hi[u])
	}
	recompute()
	for sweep := 0; sweep < 60; sweep++ {
		change := 0.0
		for z := 0; z < nz; z++ {
			old := a.lambda[z]
			// s without this zone's term
			g := func(l float64) float64 {
				sum := fixed[z] - in.D[z]
				for u := 0; u < nu; u++ {
					if in.Free[u] && in.W[z][u] > 0 {
						sum += in.W[z][u] * fOf(u, a.s[u]+(l-old)*in.W[z][u])
					}
				}
				return sum
			}
			var nl float64
			if g(0) >= 0 {
				nl = 0
			} else {
				hi := 0.0
				for u := 0; u < nu; u++ {
					if in.Free[u] && in.W[z][u] > 0 {
						need := old + (in.Hi[u]*in.Hi[u]-a.s[u])/in.W[z][u]
						hi = math.Max(hi, need)
					}
				}
				if hi <= 0 || g(hi) <= 0 {
					nl = math.Max(hi, 0) // infeasible: everything it can move goes to max
				} else {
					lo := 0.0
					for it := 0; it < 60 && hi-lo > 1e-9*(1+hi); it++ {
						mid := (lo + hi) / 2
						if g(mid) < 0 {
							lo = mid
						} else {
							hi = mid
						}
					}
					nl = hi
				}
			}
			if in.LamFloor != nil && nl < in.LamFloor[z] {
				nl = in.LamFloor[z]
			}
			if nl != old {
				for u := 0; u < nu; u++ {
					if in.Free[u] {
						a.s[u] += (nl - old) * in.W[z][u]
					}
				}
				a.lambda[z] = nl
				change = math.Max(change, math.Abs(nl-old)/(1+math.Abs(nl)))
			}
		}
		if change < 1e-7 {
			break
		}
	}
	recompute()
	for u := 0; u < nu; u++ {
		if in.Free[u] {
			f[u] = fOf(u, a.s[u])
		} else {
			f[u] = in.Fixed[u]
		}
	}
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
