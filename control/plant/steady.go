package plant

import "math"

// solveSteady solves the algebraic (steady-state) model for the current loads and availability
// with unit speeds spd. A unit whose valves[u] is negative has its valve on the local supply-air
// loop at sp[u] (saturating at 0 or 1 when the coil cannot hold it); otherwise the valve is fixed
// at valves[u]. Outputs: m.ssTin and m.ssTc per rack, m.ssSup, m.ssRet, m.ssAir per unit. It
// warm-starts from the previous m.ssSup. Returns false if it did not converge.
//
// Inside one iteration the zone hot pools have a closed form: with cold-air temperatures fixed,
// Th = sum F((1-rho)Tc + dT) / (Fz - sum F rho); the outer fixed point over supply temperatures
// contracts with ratio (1 - coil effectiveness) when a coil saturates, and is exact otherwise.
func (m *Model) solveSteady(spd, valves, sp []float64) bool {
	fanHeat := m.sc.FanHeat
	for i := range m.units {
		u := &m.units[i]
		m.ssAir[i] = u.flowFor(spd[i])
		if s := m.ssSup[i]; s == 0 || bad(s) {
			m.ssSup[i] = u.cfg.LocalSupplySP
		}
	}
	for it := 0; it < 1000; it++ {
		m.distribute(m.ssAir, m.ssSup)
		num, den := m.zHot, m.zH
		for z := 0; z < m.nZ; z++ {
			num[z], den[z] = 0, m.zoneAir[z]
		}
		for r, z := range m.rackZone {
			F := m.air[r]
			num[z] += F * ((1-m.rho[r])*m.coldT[r] + m.dT[r])
			den[z] -= F * m.rho[r]
		}
		for z := 0; z < m.nZ; z++ {
			if den[z] > 1e-12 {
				m.zHot[z] = num[z] / den[z]
			} else {
				m.zHot[z] = maxInletC
			}
		}
		for r, z := range m.rackZone {
			tin := (1-m.rho[r])*m.coldT[r] + m.rho[r]*m.zHot[z]
			if tin > maxInletC {
				tin = maxInletC
			}
			m.ssTin[r], m.ssTc[r] = tin, m.coldT[r]
		}
		m.zoneReturn(m.ssRet, m.ssAir)
		diff := 0.0
		for i := range m.units {
			u := &m.units[i]
			a := m.ssAir[i]
			var sup float64
			if a <= 0 {
				m.ssRet[i] = m.servedReturn(i)
				sup = m.ssRet[i]
			} else {
				ret := m.ssRet[i]
				ca := rhoCp * a
				fh := 0.0
				if fanHeat {
					fh = u.powerFor(spd[i]) / ca
				}
				var tcoil float64
				if valves[i] < 0 {
					target := sp[i] - fh
					need := ca * (ret - target)
					q1 := u.coilQ(ca, 1, ret)
					switch {
					case need <= 0:
						tcoil = ret
					case need >= q1:
						tcoil = ret - q1/ca
					default:
						tcoil = target
					}
				} else {
					tcoil = ret - u.coilQ(ca, valves[i], ret)/ca
				}
				sup = tcoil + fh
			}
			diff = math.Max(diff, math.Abs(sup-m.ssSup[i]))
			m.ssSup[i] = sup
		}
		if diff < 1e-9 {
			return true
		}
	}
	return false
}

// valveFor finds the valve position at which unit i's coil removes need kW from air of capacity
// rate ca at return ret (bisection; the coil duty rises monotonically with the valve).
func (m *Model) valveFor(i int, ca, ret, need float64) float64 {
	u := &m.units[i]
	if need <= 0 || ca <= 0 {
		return 0
	}
	if u.coilQ(ca, 1, ret) <= need {
		return 1
	}
	lo, hi := 0.0, 1.0
	for k := 0; k < 60; k++ {
		mid := (lo + hi) / 2
		if u.coilQ(ca, mid, ret) < need {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// steadyMaxInlet is the hottest sensor (true) temperature of the last solveSteady.
func (m *Model) steadyMaxInlet() (float64, int) {
	best, idx := math.Inf(-1), -1
	for s, r := range m.sensRack {
		tc := m.ssTc[r]
		v := tc + m.sensK[s]*(m.ssTin[r]-tc)
		if v > best {
			best, idx = v, s
		}
	}
	return best, idx
}

// initSteady puts every state at the steady state of the current unit inputs.
func (m *Model) initSteady() {
	spd := make([]float64, m.nU)
	valves := make([]float64, m.nU)
	sp := make([]float64, m.nU)
	for i := range m.units {
		u := &m.units[i]
		spd[i] = u.in.LocalFan
		if u.in.Remote {
			spd[i] = u.in.Fan
		}
		if u.tripped {
			spd[i] = 0
		}
		valves[i], sp[i] = -1, u.in.LocalSupplySP
		if u.in.Remote && !u.vfd {
			valves[i] = u.in.Valve
		}
	}
	m.solveSteady(spd, valves, sp)
	for i := range m.units {
		u := &m.units[i]
		u.speed = spd[i]
		u.airflow = m.ssAir[i]
		u.fanKW = u.powerFor(spd[i])
		u.tret = m.ssRet[i]
		u.tsup = m.ssSup[i]
		u.tcoil = u.tsup
		ca := rhoCp * u.airflow
		if ca > 0 && m.sc.FanHeat {
			u.tcoil -= u.fanKW / ca
		}
		u.coolKW = ca * (u.tret - u.tcoil)
		if valves[i] < 0 {
			u.valve = m.valveFor(i, ca, u.tret, u.coolKW)
		} else {
			u.valve = valves[i]
		}
		u.integ = u.valve
		u.local = valves[i] < 0
	}
	for r := range m.tin {
		m.tin[r], m.tcs[r] = m.ssTin[r], m.ssTc[r]
		m.lines[r].fill(m.t, m.ssTin[r], m.ssTc[r])
	}
	for s, r := range m.sensRack {
		v := m.tcs[r] + m.sensK[s]*(m.tin[r]-m.tcs[r])
		m.trueC[s] = v
		m.measC[s] = m.measure(s, v)
	}
}
