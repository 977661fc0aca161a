package bench

import (
	"errors"
	"fmt"
	"math"

	"github.com/coldaisle/coldaisle/control/engine"
	"github.com/coldaisle/coldaisle/control/plant"
	"github.com/coldaisle/coldaisle/control/site"
)

// ErrAutotune: RunAutotune could not run an experiment (bad options, the engine refused to
// start it, it did not end within the limit). An experiment that ran and failed is not an error
// of RunAutotune: its UnitTune.Status.Err says why.
var ErrAutotune = errors.New("bench: autotune")

// AutotuneOptions configure RunAutotune. The zero value of every field but Units is a default.
type AutotuneOptions struct {
	Seed int64
	// Config overrides SiteConfig(sc).
	Config *site.Config
	// Units are tuned one after the other, each with the tunings found before it applied.
	Units []string
	// StartS is the plant time the first experiment starts at, after normal control (default
	// 1800 s: the start-up descent is over and the room has come to rest).
	StartS float64
	// GapS is the normal control between one experiment's end and the next one's start
	// (default 600 s: the room settles again with the new tuning).
	GapS float64
	// LimitS bounds the experiments, gaps included, in plant seconds (default 7200).
	LimitS float64
	// AfterS is how long the run goes on after the last experiment (default 900 s).
	AfterS float64
	// NoApply leaves the configuration as it was; by default every tuning found is applied at
	// once with engine.ApplyConfig (as the console's commit does).
	NoApply bool
	// KeepEvents keeps the scenario's timeline; by default it is removed (a quiet room: the
	// experiment assumes no load change while it runs).
	KeepEvents bool
	// Trace, when set, is called after every control period (see Options.Trace).
	Trace func(t float64, m *plant.Model, e *engine.Engine, cmds []engine.Command)
}

// UnitTune is what happened during one unit's experiment.
type UnitTune struct {
	Unit   string
	Status engine.AutotuneStatus // the engine's final status: Result and Detail on success, Err on failure
	StartS float64               // plant time of StartAutotune
	EndS   float64               // plant time the engine reported the experiment over
	// BiasPct is the unit's fan command when the experiment started; FanMinPct and FanMaxPct
	// the range of its commands during the experiment.
	BiasPct, FanMinPct, FanMaxPct float64
	// MaxInletBeforeC is the hottest true inlet in the room over the minute before the start;
	// MaxInletC over the experiment.
	MaxInletBeforeC, MaxInletC float64
}

// AutotuneRun is the outcome of RunAutotune.
type AutotuneRun struct {
	Tunes []UnitTune
	// MaxInletAfterC is the hottest true inlet from the end of the last experiment to the end of
	// the run (the tunings applied unless NoApply).
	MaxInletAfterC float64
	// Config is the configuration with the fan_tuning of every unit whose experiment succeeded.
	Config *site.Config
	// Run holds the bench's metrics over the whole run (start-up, experiments, after).
	Run *Result
}

// RunAutotune runs the scenario on the lockstep bench under normal control until StartS, then
// runs the engine's relay experiment (Engine.StartAutotune) on each of opt.Units in turn, each
// starting GapS after the previous one ended, applies every tuning found to the running engine
// (unless NoApply) and goes on AfterS after the last. It is deterministic for a scenario and seed.
// It returns an error wrapping ErrAutotune if an experiment could not be started or the
// experiments did not end within LimitS; an experiment that failed is reported in its
// UnitTune.Status.Err.
func RunAutotune(sc *plant.Scenario, opt AutotuneOptions) (*AutotuneRun, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&opt.StartS, 1800)
	def(&opt.GapS, 600)
	def(&opt.LimitS, 7200)
	def(&opt.AfterS, 900)
	for _, v := range []float64{opt.StartS, opt.GapS, opt.LimitS, opt.AfterS} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: times must be finite (start %g s, gap %g s, limit %g s, after %g s)", ErrAutotune, opt.StartS, opt.GapS, opt.LimitS, opt.AfterS)
		}
	}
	if opt.StartS < 60 || opt.GapS < 0 || opt.LimitS <= 0 || opt.AfterS < 0 {
		return nil, fmt.Errorf("%w: start %g s, gap %g s, limit %g s, after %g s: want start >= 60, limit > 0, gap and after >= 0",
			ErrAutotune, opt.StartS, opt.GapS, opt.LimitS, opt.AfterS)
	}
	if len(opt.Units) == 0 {
		return nil, fmt.Errorf("%w: no unit to tune", ErrAutotune)
	}
	cfg := opt.Config
	if cfg == nil {
		cfg = SiteConfig(sc)
	}
	idx := make([]int, len(opt.Units))
	for i, name := range opt.Units {
		idx[i] = -1
		for k := range cfg.Units {
			if cfg.Units[k].Name == name {
				idx[i] = k
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("%w: unit %q is not in the configuration of %s", ErrAutotune, name, sc.Name)
		}
	}
	s := *sc
	if !opt.KeepEvents {
		s.Events = nil
	}
	s.Duration = opt.StartS + opt.LimitS + opt.AfterS
	ar := &AutotuneRun{MaxInletAfterC: math.Inf(-1)}
	var failed error
	cur, next := -1, opt.StartS // the experiment running (-1: none) and when the next one starts
	lastEnd := math.Inf(1)
	var final *site.Config
	pre := math.Inf(-1)
	trace := func(t float64, m *plant.Model, e *engine.Engine, cmds []engine.Command) {
		if opt.Trace != nil {
			opt.Trace(t, m, e, cmds)
		}
		if failed != nil {
			return
		}
		hot, _ := m.MaxInletC()
		if t >= lastEnd {
			ar.MaxInletAfterC = math.Max(ar.MaxInletAfterC, hot)
			return
		}
		k := len(ar.Tunes) // the next experiment
		if cur < 0 {
			if k >= len(opt.Units) {
				return
			}
			if t < next {
				if t >= next-60 {
					pre = math.Max(pre, hot)
				}
				return
			}
			j := idx[k]
			if err := e.StartAutotune(opt.Units[k], simTime(t)); err != nil {
				failed = fmt.Errorf("%w: start on %s at %.0f s: %w", ErrAutotune, opt.Units[k], t, err)
				return
			}
			ar.Tunes = append(ar.Tunes, UnitTune{Unit: opt.Units[k], StartS: t, EndS: -1, BiasPct: cmds[j].FanPct,
				FanMinPct: math.Inf(1), FanMaxPct: math.Inf(-1), MaxInletBeforeC: math.Max(pre, hot), MaxInletC: math.Inf(-1)})
			pre = math.Inf(-1)
			cur = k
			return
		}
		ut := &ar.Tunes[cur]
		j := idx[cur]
		ut.MaxInletC = math.Max(ut.MaxInletC, hot)
		ut.FanMinPct = math.Min(ut.FanMinPct, cmds[j].FanPct)
		ut.FanMaxPct = math.Max(ut.FanMaxPct, cmds[j].FanPct)
		st, ok := e.AutotuneStatus(ut.Unit)
		if !ok || st.Running {
			if t > opt.StartS+opt.LimitS {
				failed = fmt.Errorf("%w: %s: the experiments did not end within %.0f s (progress %+v)", ErrAutotune, ut.Unit, opt.LimitS, st.Progress)
			}
			return
		}
		ut.EndS, ut.Status = t, st
		cur, next = -1, t+opt.GapS
		if len(ar.Tunes) == len(opt.Units) {
			lastEnd = t
		}
		if st.Err != nil || st.Result == nil {
			return
		}
		base := final
		if base == nil {
			base = cfg
		}
		c, err := base.Clone()
		if err != nil {
			failed = fmt.Errorf("%w: clone the configuration: %w", ErrAutotune, err)
			return
		}
		tn := *st.Result
		c.Units[j].FanTuning = &tn
		final = c
		if !opt.NoApply {
			if err := e.ApplyConfig(c); err != nil {
				failed = fmt.Errorf("%w: apply the tuning of %s: %w", ErrAutotune, ut.Unit, err)
			}
		}
	}
	res, err := Run(&s, Options{Seed: opt.Seed, Config: cfg, SkipReferences: true, Trace: trace})
	if err != nil {
		return nil, err
	}
	if failed != nil {
		return nil, failed
	}
	if len(ar.Tunes) < len(opt.Units) || ar.Tunes[len(ar.Tunes)-1].EndS < 0 {
		return nil, fmt.Errorf("%w: %d of %d experiments ended within %.0f s", ErrAutotune, len(ar.Tunes), len(opt.Units), opt.LimitS)
	}
	ar.Config, ar.Run = final, res
	return ar, nil
}
