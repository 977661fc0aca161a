package bench

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Spread is a figure's least, mean and greatest value over several runs.
type Spread struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

func spread(rs []*Result, f func(*Result) float64) Spread {
	s := Spread{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, r := range rs {
		v := f(r)
		s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
		s.Mean += v / float64(len(rs))
	}
	return s
}

// Summary is one scenario over several seeds (Summarize).
type Summary struct {
	Scenario                string  `json:"scenario"`
	Seeds                   []int64 `json:"seeds"`
	Passed                  int     `json:"passed"`              // runs with no true inlet above the alarm limit after settle
	CommonSpeedPassed       int     `json:"common_speed_passed"` // the same for the peer's runs
	OracleRatio             Spread  `json:"oracle_ratio"`
	OracleRatioSettled      Spread  `json:"oracle_ratio_after_settle"`
	OracleRatioEqualComfort Spread  `json:"oracle_ratio_equal_comfort"`
	CommonSpeedRatio        Spread  `json:"common_speed_ratio"`
	SavingsPct              Spread  `json:"savings_pct"`
	OracleInfeasibleS       Spread  `json:"oracle_infeasible_s"`
	MinutesAboveSP          Spread  `json:"minutes_above_setpoint"`
	DegMinAboveSP           Spread  `json:"degree_minutes_above_setpoint"`
	MeanHottestSettledC     Spread  `json:"mean_hottest_inlet_after_settle_c"`
	MaxInletSettledC        Spread  `json:"max_inlet_after_settle_c"`
	CommonSpeedMinutesAbove Spread  `json:"common_speed_minutes_above_setpoint"`
	CommonSpeedMaxSettledC  Spread  `json:"common_speed_max_inlet_after_settle_c"`
	FanTVRatio              Spread  `json:"fan_total_variation_ratio"`
}

// Summarize folds the runs of one scenario (one per seed; at least one) into min, mean and max.
func Summarize(rs []*Result) Summary {
	s := Summary{}
	if len(rs) == 0 {
		return s
	}
	s.Scenario = rs[0].Scenario
	for _, r := range rs {
		s.Seeds = append(s.Seeds, r.Seed)
		if r.Passed {
			s.Passed++
		}
		if r.CommonSpeedPassed {
			s.CommonSpeedPassed++
		}
	}
	s.OracleRatio = spread(rs, func(r *Result) float64 { return r.OracleRatio })
	s.OracleRatioSettled = spread(rs, func(r *Result) float64 { return r.OracleRatioSettled })
	s.OracleRatioEqualComfort = spread(rs, func(r *Result) float64 { return r.OracleRatioEqualComfort })
	s.CommonSpeedRatio = spread(rs, func(r *Result) float64 { return r.CommonSpeedRatio })
	s.SavingsPct = spread(rs, func(r *Result) float64 { return r.SavingsPct })
	s.OracleInfeasibleS = spread(rs, func(r *Result) float64 { return r.OracleInfeasibleS })
	s.MinutesAboveSP = spread(rs, func(r *Result) float64 { return r.MinutesAboveSP })
	s.DegMinAboveSP = spread(rs, func(r *Result) float64 { return r.DegMinAboveSP })
	s.MeanHottestSettledC = spread(rs, func(r *Result) float64 { return r.MeanHottestSettledC })
	s.MaxInletSettledC = spread(rs, func(r *Result) float64 { return r.MaxInletSettledC })
	s.CommonSpeedMinutesAbove = spread(rs, func(r *Result) float64 { return r.CommonSpeedMinutesAboveSP })
	s.CommonSpeedMaxSettledC = spread(rs, func(r *Result) float64 { return r.CommonSpeedMaxInletSettledC })
	s.FanTVRatio = spread(rs, func(r *Result) float64 { return r.FanTVRatio })
	return s
}

// WriteRunLine writes one run as a single line (the per-seed lines of a multi-seed table).
func WriteRunLine(w io.Writer, r *Result) {
	status := "PASS"
	if !r.Passed {
		status = "FAIL"
	}
	fmt.Fprintf(w, "  seed %-3d %s  oracle %.3f  after settle %.3f  equal comfort %.3f  ours/common speed %.3f  infeasible %.0f s  above sp %.1f min  max after settle %.2f C  (%.0f ms)\n",
		r.Seed, status, r.OracleRatio, r.OracleRatioSettled, r.OracleRatioEqualComfort, r.CommonSpeedRatio, r.OracleInfeasibleS, r.MinutesAboveSP, r.MaxInletSettledC, r.WallMS)
}

// WriteSpreads writes one scenario's figures as min..max (mean) over its seeds.
func WriteSpreads(w io.Writer, s Summary) {
	fmt.Fprintf(w, "scenario %s over %d seeds (%d..%d): %d/%d passed, common-speed peer %d/%d\n",
		s.Scenario, len(s.Seeds), s.Seeds[0], s.Seeds[len(s.Seeds)-1], s.Passed, len(s.Seeds), s.CommonSpeedPassed, len(s.Seeds))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, unit string, sp Spread, format string) {
		fmt.Fprintf(tw, "  %s\t"+format+" .. "+format+"\tmean "+format+"%s\n", name, sp.Min, sp.Max, sp.Mean, unit)
	}
	row("ratio to oracle (feasible periods)", "", s.OracleRatio, "%.3f")
	row("  after settle", "", s.OracleRatioSettled, "%.3f")
	row("  at equal comfort", "", s.OracleRatioEqualComfort, "%.3f")
	row("ours / common speed", "", s.CommonSpeedRatio, "%.3f")
	row("savings vs baseline", " %", s.SavingsPct, "%.1f")
	row("oracle infeasible", " s", s.OracleInfeasibleS, "%.0f")
	row("hottest inlet above sp", " min", s.MinutesAboveSP, "%.1f")
	row("  degree-minutes", " K*min", s.DegMinAboveSP, "%.2f")
	row("mean hottest after settle", " C", s.MeanHottestSettledC, "%.2f")
	row("max inlet after settle", " C", s.MaxInletSettledC, "%.2f")
	row("common speed: above sp", " min", s.CommonSpeedMinutesAbove, "%.1f")
	row("common speed: max after settle", " C", s.CommonSpeedMaxSettledC, "%.2f")
	row("fan TV / oracle's", "", s.FanTVRatio, "%.2f")
	tw.Flush()
}

// WriteSummaryTable writes one row per scenario: means over the seeds, [min..max] of the ratios.
func WriteSummaryTable(w io.Writer, ss []Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tseeds\tpassed\tratio to oracle\tequal comfort\tours/common speed\tinfeasible s\tmin above sp\tpeer passed")
	r := func(sp Spread) string { return fmt.Sprintf("%.3f [%.3f..%.3f]", sp.Mean, sp.Min, sp.Max) }
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%d\t%d/%d\t%s\t%s\t%s\t%.0f\t%.1f [%.1f..%.1f]\t%d/%d\n", s.Scenario, len(s.Seeds), s.Passed, len(s.Seeds),
			r(s.OracleRatio), r(s.OracleRatioEqualComfort), r(s.CommonSpeedRatio), s.OracleInfeasibleS.Mean,
			s.MinutesAboveSP.Mean, s.MinutesAboveSP.Min, s.MinutesAboveSP.Max, s.CommonSpeedPassed, len(s.Seeds))
	}
	tw.Flush()
}
