package autotune

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/coldaisle/coldaisle/control/pid"
	"github.com/coldaisle/coldaisle/control/pid/pidtest"
)

var t0 = time.Date(2030, 3, 1, 8, 0, 0, 0, time.UTC)

// experiment runs a tuner against a plant sampled every h seconds; noise(i) is added to the
// measurement (nil: none). It returns the phases seen in order.
type experiment struct {
	pl     *pidtest.Plant
	h      float64
	noise  func(i int) float64
	quant  float64 // measurement quantisation, 0 = none
	before func(i int, pl *pidtest.Plant, tu *Tuner)
}

func (e experiment) run(t *testing.T, tu *Tuner) (phases []Phase, ticks int) {
	t.Helper()
	e.pl.Settle(tu.Config().Bias)
	for i := 0; ; i++ {
		if e.before != nil {
			e.before(i, e.pl, tu)
		}
		y := e.pl.Y()
		if e.noise != nil {
			y += e.noise(i)
		}
		if e.quant > 0 {
			y = math.Round(y/e.quant) * e.quant
		}
		out, done := tu.Step(y, t0.Add(time.Duration(float64(i)*e.h*float64(time.Second))))
		if p := tu.Progress().Phase; len(phases) == 0 || phases[len(phases)-1] != p {
			phases = append(phases, p)
		}
		if done {
			return phases, i
		}
		c := tu.Config()
		if out < c.OutMin || out > c.OutMax {
			t.Fatalf("tick %d: output %g outside %g..%g", i, out, c.OutMin, c.OutMax)
		}
		e.pl.Advance(out, e.h)
		if i > 10_000_000 {
			t.Fatal("runaway")
		}
	}
}

// lcg is a deterministic pseudo-noise source in [-amp, amp].
func lcg(seed uint64, amp float64) func(int) float64 {
	s := seed
	return func(int) float64 {
		s = s*6364136223846793005 + 1442695040888963407
		return amp * (float64(s>>11)/float64(1<<53)*2 - 1)
	}
}

type plantCase struct {
	name  string
	k, T  float64
	L, h  float64
	bias  float64
	d     float64
	eps   float64
	noise float64 // uniform noise amplitude
	quant float64
	taus  []float64 // several lags instead of T (the model check is skipped)
}

func (c plantCase) plant() *pidtest.Plant {
	taus := c.taus
	if taus == nil {
		taus = []float64{c.T}
	}
	p := pidtest.New(c.k, taus, c.L, c.h/20)
	p.Offset = 24
	return p
}

func cases() []plantCase {
	return []plantCase{
		{name: "lag dominated tau/L=10", k: 1, T: 100, L: 10, h: 1, bias: 50, d: 10, eps: 0.05},
		{name: "delay dominated tau/L=0.5", k: 1, T: 10, L: 20, h: 1, bias: 50, d: 10, eps: 0.05},
		// A cooling loop: fan % -> inlet °C, gain -0.15 K/%, 4 min lag, 30 s delay, sampled every
		// 2 s through a 0.01 °C quantised, noisy sensor; eps from the measured noise.
		// Not a FOPDT at all: 1/(10s+1)^4. The relay still finds Ku/Pu; the FOPDT fit is an
		// approximation whose tunings must still close the loop.
		{name: "fourth-order lag", k: 1, h: 0.5, bias: 50, d: 10, eps: 0.02, taus: []float64{10, 10, 10, 10}},
		{name: "cooling, noisy quantised", k: -0.15, T: 240, L: 30, h: 2, bias: 50, d: 15, noise: 0.02, quant: 0.01},
	}
}

func runCase(t *testing.T, c plantCase, mod func(*Config)) (*Tuner, []Phase) {
	t.Helper()
	pl := c.plant()
	cfg := Config{Bias: c.bias, D: c.d, Eps: c.eps, OutMin: 0, OutMax: 100, Baseline: 2 * time.Minute, Timeout: 10 * time.Hour}
	if mod != nil {
		mod(&cfg)
	}
	tu, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := experiment{pl: pl, h: c.h, quant: c.quant}
	if c.noise > 0 {
		e.noise = lcg(7, c.noise)
	}
	ph, _ := e.run(t, tu)
	return tu, ph
}

func relErr(got, want float64) float64 { return math.Abs(got/want - 1) }

// Ku and Pu from the relay against the plant's analytical values; the FOPDT model against the true
// plant; the phases in order.
func TestRelayEstimatesFOPDT(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			tu, phases := runCase(t, c, nil)
			r, err := tu.Result()
			if err != nil {
				t.Fatalf("%v (progress %+v)", err, tu.Progress())
			}
			ku, pu := c.plant().Ultimate()
			t.Logf("Ku %.4g (analytic %.4g, %+.1f %%; from the peak %+.1f %%), Pu %.1f s (analytic %.1f, %+.1f %%); phase %.1f°; model %+v; %s",
				r.Ku, ku, 100*(r.Ku/ku-1), 100*(r.Relay.KuPeak/ku-1), r.Pu, pu, 100*(r.Pu/pu-1), r.Relay.PhaseDeg, r.Model, r.Summary())
			if relErr(r.Ku, ku) > 0.2 || relErr(r.Pu, pu) > 0.2 {
				t.Errorf("Ku/Pu off by more than 20 %%")
			}
			if c.taus == nil && (relErr(r.Model.K, c.k) > 0.05 || relErr(r.Model.T, c.T) > 0.15 || math.Abs(r.Model.L-c.L) > 0.15*c.L+c.h) {
				t.Errorf("model %+v, plant K=%g T=%g L=%g", r.Model, c.k, c.T, c.L)
			}
			want := []Phase{PhaseBaseline, PhaseStep, PhaseRelay, PhaseDone}
			if len(phases) != 4 || phases[0] != want[0] || phases[1] != want[1] || phases[2] != want[2] || phases[3] != want[3] {
				t.Errorf("phases %v", phases)
			}
			if c.k < 0 {
				for _, tn := range r.Tunings {
					if tn.Action != pid.Direct {
						t.Errorf("%s: negative process gain must give a direct-acting loop", tn.Rule)
					}
				}
			}
			if r.Date.IsZero() || r.Samples < 100 || r.Relay.Cycles < 4 || r.Relay.D != c.d {
				t.Errorf("result data %+v", r)
			}
			if p := tu.Progress(); p.Steady < 3 || p.Periods != r.Relay.Cycles {
				t.Errorf("progress %+v", p)
			}
		})
	}
}

// The gains from each rule close a stable loop on the plant: a setpoint step and a load step both
// settle, with bounded overshoot.
func TestTunedLoopIsStable(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			tu, _ := runCase(t, c, nil)
			r, err := tu.Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, tn := range r.Tunings {
				cfg := tn.Apply(pid.Config{OutMin: -1000, OutMax: 1000})
				p, err := pid.New(cfg)
				if err != nil {
					t.Fatalf("%s: %v", tn.Rule, err)
				}
				pl := c.plant()
				pl.Settle(c.bias)
				sp := pl.Y()
				must(t, p.Track(c.bias))
				now := t0
				tick := func() float64 {
					y := pl.Y()
					pl.Advance(p.Update(sp, y, now), c.h)
					now = now.Add(time.Duration(c.h * float64(time.Second)))
					return y
				}
				tick()
				must(t, p.SetMode(pid.Auto))
				step := 1.0
				sp += step
				horizon := 30 * (c.T + c.L)
				var ys []float64
				for range int(horizon / c.h) {
					ys = append(ys, tick())
				}
				over := 0.0
				for _, y := range ys {
					over = math.Max(over, (y-sp)/step)
				}
				tail := ys[len(ys)*2/3:]
				dev := 0.0
				for _, y := range tail {
					dev = math.Max(dev, math.Abs(y-sp))
				}
				// Load step: an output disturbance of 10 % of the relay amplitude.
				pl.Load = c.d
				var ls []float64
				for range int(horizon / c.h) {
					ls = append(ls, tick())
				}
				ltail := 0.0
				for _, y := range ls[len(ls)*2/3:] {
					ltail = math.Max(ltail, math.Abs(y-sp))
				}
				t.Logf("%s: Kp %.3g Ti %.3g Td %.3g b %g: overshoot %.1f %%, residual %.2g, after load %.2g",
					tn.Rule, tn.Kp, tn.Ti, tn.Td, tn.B, 100*over, dev, ltail)
				if over > 0.4 || dev > 0.02 || ltail > 0.02*math.Abs(c.k*c.d)+0.02 {
					t.Errorf("%s: loop not settled: overshoot %.2f, residual %.3g, after load %.3g", tn.Rule, over, dev, ltail)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The result round-trips through JSON and TOML.
func TestResultSerialises(t *testing.T) {
	tu, _ := runCase(t, cases()[0], nil)
	r, err := tu.Result()
	must(t, err)
	js, err := json.Marshal(r)
	must(t, err)
	var rj Result
	must(t, json.Unmarshal(js, &rj))
	var buf bytes.Buffer
	must(t, toml.NewEncoder(&buf).Encode(r))
	var rt Result
	if _, err := toml.Decode(buf.String(), &rt); err != nil {
		t.Fatalf("toml: %v\n%s", err, buf.String())
	}
	for name, got := range map[string]Result{"json": rj, "toml": rt} {
		if !got.Date.Equal(r.Date) || got.Ku != r.Ku || got.Model != r.Model || len(got.Tunings) != len(r.Tunings) ||
			got.Tunings[3] != r.Tunings[3] || len(got.Relay.Periods) != len(r.Relay.Periods) {
			t.Errorf("%s round trip: %+v\nwant %+v", name, got, r)
		}
	}
	if !strings.Contains(buf.String(), `action = "reverse"`) || !strings.Contains(string(js), `"rule":"amigo-pid"`) {
		t.Errorf("unexpected encoding:\n%s\n%s", buf.String(), js)
	}
	if _, err := r.Tuning("simc-pi"); err != nil {
		t.Error(err)
	}
	if _, err := r.Tuning("zn"); !errors.Is(err, ErrModel) {
		t.Errorf("unknown rule: %v", err)
	}
}

// Failures end the experiment with a clear error and give the output back at Bias.
func TestFailures(t *testing.T) {
	base := cases()[0]
	type fcase struct {
		name   string
		mod    func(*Config)
		before func(i int, pl *pidtest.Plant, tu *Tuner)
		noise  func(int) float64
		want   error
		msg    string
	}
	wobble := lcg(11, 7)
	fcs := []fcase{
		{name: "timeout", mod: func(c *Config) { c.Timeout = 5 * time.Minute }, want: ErrTimeout, msg: "phase step"},
		{name: "relay cannot overcome a load", before: func(i int, pl *pidtest.Plant, tu *Tuner) {
			if tu.Progress().Periods == 1 { // during the relay: a load the relay amplitude cannot fight
				pl.Load = -40
			}
		}, want: ErrNoOscillation, msg: "held high"},
		{name: "deviation guard", mod: func(c *Config) { c.MaxDev = 5 }, want: ErrDeviation, msg: "max_dev 5"},
		{name: "no response", mod: func(c *Config) { c.Timeout = 3 * time.Hour }, before: func(i int, pl *pidtest.Plant, _ *Tuner) { pl.K = 0 },
			noise: lcg(3, 0.01), want: ErrTimeout, msg: "phase step"},
		{name: "nan pv", noise: func(i int) float64 {
			if i == 50 {
				return math.NaN()
			}
			return 0
		}, want: ErrBadPV},
		{name: "inconsistent", mod: func(c *Config) { c.MaxCycles = 6 }, before: func(i int, pl *pidtest.Plant, tu *Tuner) {
			if tu.Progress().Phase == PhaseRelay && i%30 == 0 { // a load that keeps changing spoils every period
				pl.Load = wobble(i)
			}
		}, want: ErrInconsistent},
	}
	for _, fc := range fcs {
		t.Run(fc.name, func(t *testing.T) {
			pl := pidtest.FOPDT(base.k, base.T, base.L, base.h/20)
			cfg := Config{Bias: base.bias, D: base.d, Eps: base.eps, OutMin: 0, OutMax: 100, Baseline: time.Minute, Timeout: 10 * time.Hour}
			if fc.mod != nil {
				fc.mod(&cfg)
			}
			tu, err := New(cfg)
			must(t, err)
			e := experiment{pl: pl, h: base.h, before: fc.before, noise: fc.noise}
			e.run(t, tu)
			_, rerr := tu.Result()
			if !errors.Is(tu.Err(), fc.want) || !errors.Is(rerr, fc.want) || !strings.Contains(tu.Err().Error(), fc.msg) {
				t.Fatalf("err %v, want %v containing %q (progress %+v)", tu.Err(), fc.want, fc.msg, tu.Progress())
			}
			t.Log(tu.Err())
			if out, done := tu.Step(24, t0.Add(100*time.Hour)); !done || out != base.bias {
				t.Errorf("after failure Step gave %g %v, want bias %g", out, done, base.bias)
			}
			if p := tu.Progress(); p.Phase != PhaseFailed || p.Err == "" {
				t.Errorf("progress %+v", p)
			}
		})
	}
	// Abort by the caller.
	tu, _ := New(Config{Bias: 50, D: 10, OutMin: 0, OutMax: 100})
	tu.Step(24, t0)
	tu.Abort("operator cancelled")
	if out, done := tu.Step(24, t0.Add(time.Second)); !done || out != 50 || !errors.Is(tu.Err(), ErrAborted) ||
		!strings.Contains(tu.Err().Error(), "operator cancelled") {
		t.Errorf("abort: %g %v %v", out, done, tu.Err())
	}
	if _, err := tu.Result(); !errors.Is(err, ErrAborted) {
		t.Errorf("result after abort: %v", err)
	}
	tu, _ = New(Config{Bias: 50, D: 10, OutMin: 0, OutMax: 100})
	if _, err := tu.Result(); !errors.Is(err, ErrNotDone) {
		t.Errorf("result before start: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	good := Config{Bias: 50, D: 10, OutMin: 0, OutMax: 100}
	for field, mod := range map[string]func(*Config){
		"d":          func(c *Config) { c.D = 0 },
		"out_max":    func(c *Config) { c.OutMax = -1 },
		"bias":       func(c *Config) { c.Bias = 120 },
		"step":       func(c *Config) { c.StepSize = 60 },
		"d ":         func(c *Config) { c.D = 30 }, // bias+step+d = 90? no: 50+30+30 = 110
		"eps":        func(c *Config) { c.Eps = -1 },
		"min_cycles": func(c *Config) { c.MinCycles = 1 },
		"max_cycles": func(c *Config) { c.MinCycles, c.MaxCycles = 5, 5 },
		"tolerance":  func(c *Config) { c.Tolerance = 0.9 },
		"timeout":    func(c *Config) { c.Timeout = time.Second },
		"tau_c_s":    func(c *Config) { c.TauC = math.NaN() },
	} {
		c := good
		mod(&c)
		_, err := New(c)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), strings.TrimSpace(field)) {
			t.Errorf("%s: %v", field, err)
		}
	}
	tu, err := New(good)
	must(t, err)
	if c := tu.Config(); c.StepSize != 10 || c.MinCycles != 3 || c.Tolerance != 0.1 || c.Baseline != time.Minute {
		t.Errorf("defaults %+v", c)
	}
}

// Rules against values computed by hand from the published formulas.
func TestRules(t *testing.T) {
	m := Model{K: 2, T: 100, L: 10}
	simc, err := SIMC(m, 0, false)
	must(t, err)
	if simc.Kp != 100.0/(2*20) || simc.Ti != 80 || simc.Td != 0 || simc.Action != pid.Reverse {
		t.Errorf("SIMC PI %+v", simc)
	}
	simc, _ = SIMC(m, 30, false) // tau_c = 30: smoother
	if simc.Kp != 100.0/(2*40) || simc.Ti != 100 {
		t.Errorf("SIMC PI tau_c=30 %+v", simc)
	}
	sp, _ := SIMC(m, 0, true)
	kc, tis, tds := (100+10.0/3)/(2*20), math.Min(100+10.0/3, 80), 10.0/3
	if math.Abs(sp.Kp-kc*(1+tds/tis)) > 1e-12 || math.Abs(sp.Ti-(tis+tds)) > 1e-12 || math.Abs(sp.Td-tis*tds/(tis+tds)) > 1e-12 {
		t.Errorf("SIMC PID %+v", sp)
	}
	ap, _ := AMIGO(m, false)
	if wantKp := (0.15 + (0.35-1000.0/12100)*10) / 2; math.Abs(ap.Kp-wantKp) > 1e-12 || ap.B != 0 {
		t.Errorf("AMIGO PI %+v want Kp %g", ap, wantKp)
	}
	if wantTi := 3.5 + 13*10*10000/(10000+12000+700.0); math.Abs(ap.Ti-wantTi) > 1e-12 {
		t.Errorf("AMIGO PI Ti %g want %g", ap.Ti, wantTi)
	}
	ad, _ := AMIGO(Model{K: -0.5, T: 10, L: 20}, true)
	if math.Abs(ad.Kp-(0.2+0.45*0.5)/0.5) > 1e-12 || math.Abs(ad.Ti-20.0*(8+8)/21) > 1e-12 ||
		math.Abs(ad.Td-0.5*200/16) > 1e-12 || ad.B != 1 || ad.Action != pid.Direct {
		t.Errorf("AMIGO PID %+v", ad)
	}
	if _, err := AMIGO(Model{K: 1, T: 10, L: 0}, false); !errors.Is(err, ErrModel) {
		t.Errorf("AMIGO without dead time: %v", err)
	}
	if _, err := SIMC(Model{K: 0, T: 10, L: 1}, 0, false); !errors.Is(err, ErrModel) {
		t.Errorf("SIMC zero gain: %v", err)
	}
	cfg := ad.Apply(pid.Config{OutMin: 20, OutMax: 100, Rate: 2, Kp: 99})
	if cfg.Kp != ad.Kp || cfg.OutMin != 20 || cfg.Rate != 2 || *cfg.B != 1 || cfg.Action != pid.Direct {
		t.Errorf("Apply %+v", cfg)
	}
	if _, err := pid.New(cfg); err != nil {
		t.Errorf("applied config invalid: %v", err)
	}
}

// BenchmarkExperiment: a whole lag-dominated experiment (about 870 ticks) per op.
func BenchmarkExperiment(b *testing.B) {
	for range b.N {
		tu, _ := New(Config{Bias: 50, D: 10, Eps: 0.05, OutMin: 0, OutMax: 100, Baseline: 2 * time.Minute})
		pl := pidtest.FOPDT(1, 100, 10, 0.05)
		pl.Settle(50)
		for i := 0; ; i++ {
			out, done := tu.Step(pl.Y(), t0.Add(time.Duration(i)*time.Second))
			if done {
				break
			}
			pl.Advance(out, 1)
		}
	}
}

// A measurement that is sampled and held (a zone's hottest sensor, each reporting every 30 s) on
// a cooling loop sampled every 2 s: the step must not be declared settled on a flat stretch of
// the staircase, and the model comes from the relay's frequency response (averaged over cycles)
// rather than from two instants of the step. The hold adds about half its length of dead time.
func TestSampledAndHeldPV(t *testing.T) {
	const k, T, L, h, hold = -0.2, 120.0, 20.0, 2.0, 30.0
	for seed := uint64(1); seed <= 3; seed++ {
		pl := pidtest.FOPDT(k, T, L, h/20)
		pl.Offset = 25
		tu, err := New(Config{Bias: 45, D: 10, OutMin: 30, OutMax: 100, Baseline: 2 * time.Minute, Timeout: 4 * time.Hour})
		must(t, err)
		noise := lcg(seed, 0.03)
		held, next := 0.0, 0.0
		e := experiment{pl: pl, h: h, noise: func(i int) float64 {
			if now := float64(i) * h; now >= next { // a new report: the plant's value now, noisy
				held, next = math.Round((pl.Y()+noise(i))*100)/100, next+hold
			}
			return held - pl.Y()
		}}
		phases, _ := e.run(t, tu)
		r, err := tu.Result()
		if err != nil {
			t.Fatalf("seed %d: %v (progress %+v, phases %v)", seed, err, tu.Progress(), phases)
		}
		t.Logf("seed %d: model (%s) %+v, step fit %+v; Ku %.3g Pu %.0f s; hold %.0f s, settled %.0f s after the step",
			seed, r.ModelFrom, r.Model, r.StepModel, r.Ku, r.Pu, r.Baseline.Hold, r.Step.Settled)
		if r.Baseline.Hold < hold-h || r.Step.Settled < 4*(T+L)/2 {
			t.Errorf("seed %d: hold %.0f s, step settled after %.0f s", seed, r.Baseline.Hold, r.Step.Settled)
		}
		if r.ModelFrom != "relay" || relErr(r.Model.K, k) > 0.1 || relErr(r.Model.T, T) > 0.3 ||
			r.Model.L < L || r.Model.L > L+hold {
			t.Errorf("seed %d: model %s %+v, plant K %g T %g L %g (+ up to %g s of hold)", seed, r.ModelFrom, r.Model, k, T, L, hold)
		}
	}
}
