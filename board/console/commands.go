package console

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/coldaisle/coldaisle/control/site"
)

// The two grammars: operational mode (prompt "> ") and configuration mode (prompt "# ").
var opRoot, cfgRoot *node

func init() {
	opRoot = buildOpTree()
	cfgRoot = buildCfgTree(opRoot)
}

func (s *session) root() *node {
	if s.cfgMode {
		return cfgRoot
	}
	return opRoot
}

func unitChoices(s *session, _ []string) []choice {
	var out []choice
	for _, u := range s.running.Units {
		out = append(out, choice{word: u.Name, help: fmt.Sprintf("id %d on line %s", u.UnitID, u.Line)})
	}
	return out
}

func unitNames(cfg *site.Config) []string {
	out := make([]string, len(cfg.Units))
	for i, u := range cfg.Units {
		out[i] = u.Name
	}
	return out
}

func checkUnit(s *session, _ []string, v string) error {
	if s.running.Unit(v) == nil {
		return fmt.Errorf("%s: no such unit (units: %s)", v, listOr(unitNames(s.running)))
	}
	return nil
}

func unitArg(help string, run func(*session, []string) error, kids ...*node) *node {
	return &node{arg: "UNIT", help: help, choices: unitChoices, check: checkUnit, run: run, kids: kids}
}

func parseNumber(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}

// parsePercent is a percentage as typed: a number, with or without a trailing % (50 or 50%).
func parsePercent(v string) (float64, error) {
	f, err := parseNumber(strings.TrimSuffix(v, "%"))
	if err != nil {
		return 0, fmt.Errorf("%q is not a number (a percentage: 50 or 50%%)", v)
	}
	return f, nil
}

func checkCount(_ *session, _ []string, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return fmt.Errorf("%q is not a count 1..10000", v)
	}
	return nil
}

func versionChoices(s *session, _ []string) []choice {
	hist, err := s.c.b.ConfigHistory(s.ctx, 10)
	if err != nil {
		return nil
	}
	var out []choice
	for _, v := range hist {
		out = append(out, choice{word: strconv.Itoa(v.N), help: versionLine(v)})
	}
	return out
}

func checkVersionNumber(_ *session, _ []string, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("%q is not a version number (show history lists them)", v)
	}
	return nil
}

func versionLine(v ConfigVersion) string {
	s := v.Time.Format("2006-01-02 15:04") + " " + v.User
	if v.Comment != "" {
		s += ": " + v.Comment
	}
	return s
}

func buildOpTree() *node {
	logNode := kw("log", "the event log, newest last (default 20)", (*session).showLog,
		&node{arg: "COUNT", help: "how many events", check: checkCount, run: (*session).showLog})
	configNode := kw("config", "the running configuration (TOML)", (*session).showConfig,
		&node{arg: "VERSION", help: "a stored version", choices: versionChoices, check: checkVersionNumber, run: (*session).showConfig})
	tune := func(loop string) func(*session, []string) error {
		return func(s *session, a []string) error { return s.tune(a[0], loop) }
	}
	kids := []*node{
		kw("show", "show the state of the controller", nil,
			kw("status", "summary: state, configuration, sensors, units, alarms", (*session).showStatus),
			kw("sensors", "latest reading of every sensor", (*session).showSensors),
			kw("units", "live state of every air handler", (*session).showUnits),
			kw("loops", "control loops: mode, setpoint, output, gains", (*session).showLoops),
			trendNode(),
			logNode,
			configNode,
			kw("counters", "driver and loop counters", (*session).showCounters),
			kw("history", "stored configuration versions", (*session).showHistory),
			kw("alarms", "active alarms: severity, since, acknowledged or shelved", (*session).showAlarms),
			kw("pair", "the 2N pair: role, peer, paths, witness, counters", (*session).showPair),
		),
		alarmNodes(),
		kw("watch", "live view until a key is pressed", nil,
			kw("sensors", "sensor readings, refreshed every few seconds", (*session).watchSensors),
			kw("units", "air handlers, refreshed every few seconds", (*session).watchUnits),
			kw("loops", "control loops, refreshed every few seconds", (*session).watchLoops)),
		kw("loop", "put a unit's fan loop in manual, or back in auto", nil,
			unitArg("the unit", nil,
				kw("manual", "hold the fan at a fixed speed", nil,
					&node{arg: "PCT", help: "fan speed, % within the unit's min..max (50 or 50%)", run: (*session).loopManual,
						check: func(_ *session, _ []string, v string) error { _, err := parsePercent(v); return err },
						kids: []*node{kw("for", "how long (default control.manual_default; at most control.manual_max)", nil,
							&node{arg: "DURATION", help: "e.g. 30m, 2h", run: (*session).loopManual, check: checkManualFor})}}),
				kw("auto", "back to automatic control", (*session).loopAuto))),
		kw("tune", "autotune a unit's loop (any key aborts)", nil,
			unitArg("the unit (its fan loop)", tune("fan"),
				kw("fan", "the zone (fan speed) loop", tune("fan")),
				kw("valve", "the supply-air (valve) loop", tune("valve")))),
		kw("test", "commissioning tests", nil,
			kw("unit", "step a unit's fan and valve, check the response (any key aborts)", nil,
				unitArg("the unit", (*session).testUnit))),
		kw("modbus", "raw Modbus access", nil,
			&node{word: "read", help: "read registers (UNIT or --target, --addr, --count...)", rest: completeModbus, run: (*session).modbusRead}),
	}
	kids = append(kids, pairNodes()...)
	kids = append(kids,
		kw("configure", "edit a candidate copy of the running configuration", (*session).configure),
		kw("password", "change your password", (*session).password),
		kw("reboot", "restart the board (asks first)", (*session).reboot),
		kw("help", "the commands and the keys", (*session).help),
		kw("exit", "log out", (*session).logout),
		kw("logout", "log out", (*session).logout),
	)
	return &node{kids: kids}
}

func (s *session) logout([]string) error { return errLogout }

func (s *session) help([]string) error {
	s.write("Commands (words may be shortened: sh st = show status):\n")
	s.write(formatChoices(choicesOf(s.root()), s.width))
	keys := "Keys: Tab completes a word, ? lists what can come next, up/down recall lines, " +
		"Ctrl-C clears the line, Ctrl-V makes the next key literal, Ctrl-D logs out."
	s.write(strings.Join(wrapText(keys, min(s.width-1, 79)), "\n") + "\n")
	return nil
}

func choicesOf(n *node) []choice {
	var out []choice
	for _, k := range n.kids {
		out = append(out, choice{word: k.word, help: k.help})
	}
	return out
}

// backendErr words an error of the backend for the command that met it.
func backendErr(cmd string, err error) error {
	msg := oneLine(err.Error())
	msg = strings.TrimPrefix(msg, cmd+": ") // not "reboot: reboot: not permitted"
	return &userError{cmd + ": " + msg}
}

func (s *session) showStatus([]string) error {
	st, err := s.c.b.Status(s.ctx)
	if err != nil {
		return backendErr("show status", err)
	}
	sensors, _ := s.c.b.Sensors(s.ctx)
	units, _ := s.c.b.Units(s.ctx)
	count := func(states []string) string {
		if len(states) == 0 {
			return "none"
		}
		n := map[string]int{}
		var order []string
		for _, x := range states {
			if n[x] == 0 {
				order = append(order, x)
			}
			n[x]++
		}
		var parts []string
		for _, x := range order {
			parts = append(parts, fmt.Sprintf("%d %s", n[x], x))
		}
		return fmt.Sprintf("%d: %s", len(states), strings.Join(parts, ", "))
	}
	var ss, us []string
	for _, r := range sensors {
		ss = append(ss, r.State)
	}
	for _, u := range units {
		us = append(us, u.Mode)
	}
	alarms := "none"
	if len(st.Alarms) > 0 {
		alarms = strings.Join(st.Alarms, "; ")
	}
	s.write(keyValues([][2]string{
		{"site", fmt.Sprintf("%s (node %d)", s.siteName(), s.running.NodeID)},
		{"software", st.Software},
		{"state", fmt.Sprintf("%s, up %s", st.State, st.Uptime.Round(time.Second))},
		{"config", fmt.Sprintf("version %d, %s", s.runVer.N, versionLine(s.runVer))},
		{"sensors", count(ss)},
		{"units", count(us)},
		{"alarms", alarms},
	}, s.width))
	return nil
}

// table lays rows out for the session's terminal.
func (s *session) table(cols []column, rows [][]string) string {
	return layoutTable(cols, rows, s.width)
}

// sensorValue is a reading as the table shows it: "n/a" when the sensor has no valid value (a
// probe fault, never heard, or not a finite number), never a number that is not a reading.
func sensorValue(r SensorReading) string {
	switch {
	case r.State == "missing" || r.State == "fault" || math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
		return "n/a"
	}
	return num(r.Value, 1) + " " + r.Unit
}

func (s *session) sensorTable() (string, error) {
	rs, err := s.c.b.Sensors(s.ctx)
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, r := range rs {
		batt := "-"
		if r.BatteryMV > 0 {
			batt = strconv.FormatFloat(float64(r.BatteryMV)/1000, 'f', 2, 64)
		}
		rows = append(rows, []string{r.ID, r.Zone, r.Rack, sensorValue(r), age(r.Age), batt, r.State})
	}
	return s.table([]column{
		{title: "sensor", keep: true}, {title: "zone"}, {title: "rack"},
		{title: "value", right: true}, {title: "age", right: true}, {title: "batt", right: true},
		{title: "state"},
	}, rows), nil
}

func (s *session) showSensors([]string) error {
	t, err := s.sensorTable()
	if err != nil {
		return backendErr("show sensors", err)
	}
	s.write(t)
	return nil
}

func (s *session) showUnits([]string) error {
	t, err := s.unitTable()
	if err != nil {
		return backendErr("show units", err)
	}
	s.write(t)
	return nil
}

func (s *session) unitTable() (string, error) {
	us, err := s.c.b.Units(s.ctx)
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, u := range us {
		alarm := u.Alarm
		if alarm == "" {
			alarm = "-"
		}
		rows = append(rows, []string{u.Name, u.Line, strconv.Itoa(u.UnitID), u.Mode, reading(u.FanPct, 0, false),
			reading(u.ValvePct, 0, u.NoValve), reading(u.SupplyC, 1, u.NoSupply), reading(u.ReturnC, 1, u.NoReturn),
			reading(u.FanKW, 1, false), alarm})
	}
	return s.table([]column{
		{title: "unit", keep: true}, {title: "line"}, {title: "id", right: true},
		{title: "mode"}, {title: "fan%", right: true}, {title: "vlv%", right: true},
		{title: "sup C", right: true}, {title: "ret C", right: true},
		{title: "fan kW", right: true}, {title: "alarm"},
	}, rows), nil
}

func (s *session) showLoops([]string) error {
	t, err := s.loopTable()
	if err != nil {
		return backendErr("show loops", err)
	}
	s.write(t)
	return nil
}

func (s *session) loopTable() (string, error) {
	ls, err := s.c.b.Loops(s.ctx)
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, l := range ls {
		rows = append(rows, []string{l.Unit + " " + l.Loop, l.Zone, l.Mode, num(l.SetpointC, 1), reading(l.MeasuredC, 1, false),
			reading(l.OutputPct, 1, false), strconv.FormatFloat(l.Kp, 'g', 4, 64), strconv.FormatFloat(l.Ti, 'g', 5, 64),
			strconv.FormatFloat(l.Td, 'g', 4, 64)})
	}
	return s.table([]column{
		{title: "loop", keep: true}, {title: "zone"}, {title: "mode"},
		{title: "sp C", right: true}, {title: "pv C", right: true}, {title: "out%", right: true},
		{title: "kp", right: true}, {title: "ti_s", right: true}, {title: "td_s", right: true},
	}, rows), nil
}

func (s *session) showLog(a []string) error {
	n := 20
	if len(a) > 0 {
		n, _ = strconv.Atoi(a[0])
	}
	evs, err := s.c.b.Events(s.ctx, n)
	if err != nil {
		return backendErr("show log", err)
	}
	var rows [][]string
	for _, e := range evs {
		rows = append(rows, []string{e.Time.Format("2006-01-02 15:04:05"), e.User, e.Kind, e.Text})
	}
	s.write(s.table([]column{
		{title: "time"}, {title: "user"}, {title: "event"}, {title: "text", wrap: true},
	}, rows))
	return nil
}

func encodeConfig(c *site.Config) string {
	b, err := site.Encode(c)
	if err != nil {
		return "# " + oneLine(err.Error()) + "\n"
	}
	return string(b)
}

func (s *session) showConfig(a []string) error {
	if len(a) == 0 {
		s.printf("# version %d, %s\n", s.runVer.N, versionLine(s.runVer))
		s.write(encodeConfig(s.running))
		return nil
	}
	n, _ := strconv.Atoi(a[0])
	cfg, v, err := s.c.b.ConfigVersion(s.ctx, n)
	if err != nil {
		if errors.Is(err, ErrNoVersion) {
			return &userError{fmt.Sprintf("show config: no version %d (show history lists them)", n)}
		}
		return backendErr("show config", err)
	}
	s.printf("# version %d, %s\n", v.N, versionLine(v))
	s.write(encodeConfig(cfg))
	return nil
}

func (s *session) showCounters([]string) error {
	cs, err := s.c.b.Counters(s.ctx)
	if err != nil {
		return backendErr("show counters", err)
	}
	var rows [][]string
	for _, c := range cs {
		rows = append(rows, []string{c.Name, strconv.FormatUint(c.Value, 10)})
	}
	s.write(s.table([]column{{title: "counter"}, {title: "value", right: true}}, rows))
	return nil
}

func (s *session) showHistory([]string) error {
	hist, err := s.c.b.ConfigHistory(s.ctx, 20)
	if err != nil {
		return backendErr("show history", err)
	}
	var rows [][]string
	for _, v := range hist {
		mark := ""
		if v.N == s.runVer.N {
			mark = "*"
		}
		rows = append(rows, []string{strconv.Itoa(v.N) + mark, v.Time.Format("2006-01-02 15:04"), v.User, v.Comment})
	}
	s.write(s.table([]column{
		{title: "version", right: true}, {title: "time"}, {title: "user"},
		{title: "comment", wrap: true},
	}, rows))
	s.write("(* running)\n")
	return nil
}

func (s *session) watchSensors([]string) error { return s.watch("sensors", s.sensorTable) }
func (s *session) watchUnits([]string) error   { return s.watch("units", s.unitTable) }
func (s *session) watchLoops([]string) error   { return s.watch("loops", s.loopTable) }

// watch redraws what's table every Options.WatchEvery until a key is pressed.
func (s *session) watch(what string, table func() (string, error)) error {
	s.in.drain()
	for {
		t, err := table()
		if err != nil {
			return backendErr("watch "+what, err)
		}
		drawn := s.now()
		s.writeControl("\x1b[H\x1b[2J") // the console's own sequence: home, clear the screen
		s.printf("%s at %s (every %v; any key stops)\n", what, drawn.Format("15:04:05"), s.c.o.WatchEvery)
		s.write(t)
		tm := s.c.o.Clock.TimerAt(drawn.Add(s.c.o.WatchEvery))
		pressed, err := s.in.key(tm.C())
		tm.Stop()
		if err != nil {
			return err
		}
		if pressed {
			return nil
		}
	}
}

// checkManualFor validates the DURATION of "loop UNIT manual PCT for DURATION".
func checkManualFor(s *session, _ []string, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a duration like 30m or 2h", v)
	}
	if limit := s.running.Control.ManualMax.Duration; limit > 0 && d > limit {
		return fmt.Errorf("%v is longer than control.manual_max %v", d, limit)
	}
	return nil
}

func (s *session) loopManual(a []string) error {
	name := a[0]
	pct, _ := parsePercent(a[1])
	var dur time.Duration
	if len(a) > 2 {
		dur, _ = time.ParseDuration(a[2])
	}
	u := s.running.Unit(name)
	cmd := "loop " + name + " manual"
	switch {
	case u.DisableControls:
		return &userError{fmt.Sprintf("%s: %s is disabled in the configuration (never written)", cmd, name)}
	case pct < u.MinFanPct:
		// Fail safe is more air: never below the configured minimum.
		return &userError{fmt.Sprintf("%s: %g is below the unit's min_fan_pct %g (allowed %g..%g)", cmd, pct, u.MinFanPct, u.MinFanPct, u.MaxFanPct)}
	case pct > u.MaxFanPct:
		return &userError{fmt.Sprintf("%s: %g is above the unit's max_fan_pct %g (allowed %g..%g)", cmd, pct, u.MaxFanPct, u.MinFanPct, u.MaxFanPct)}
	}
	if err := s.c.b.SetLoopMode(s.ctx, name, LoopMode{Manual: true, FanPct: pct, For: dur}); err != nil {
		return backendErr(cmd, err)
	}
	if dur == 0 {
		dur = s.running.Control.ManualDefault.Duration
	}
	s.logEvent(EventLoopMode, fmt.Sprintf("%s manual at %g%% for %v", name, pct, dur))
	s.printf("loop %s: manual, fan held at %g%% for %v, then back to auto (loop %s auto to release now)\n", name, pct, dur, name)
	return nil
}

func (s *session) loopAuto(a []string) error {
	if err := s.c.b.SetLoopMode(s.ctx, a[0], LoopMode{}); err != nil {
		return backendErr("loop "+a[0]+" auto", err)
	}
	s.logEvent(EventLoopMode, a[0]+" auto")
	s.printf("loop %s: automatic\n", a[0])
	return nil
}

func (s *session) progress(line string) { s.write("  " + oneLine(line) + "\n") }

func (s *session) tune(unit, loop string) error {
	s.printf("tune %s %s: autotuning (any key aborts)\n", unit, loop)
	var res site.Tuning
	aborted, err := s.abortable(func(ctx context.Context) error {
		var err error
		res, err = s.c.b.Autotune(ctx, unit, loop, s.progress)
		return err
	})
	if aborted {
		s.logEvent(EventTune, fmt.Sprintf("%s %s aborted", unit, loop))
		s.printf("tune %s %s: aborted; the loop is back as it was\n", unit, loop)
		return nil
	}
	if err != nil {
		return backendErr("tune "+unit, err)
	}
	s.logEvent(EventTune, fmt.Sprintf("%s %s: kp %g ti_s %g td_s %g (%s)", unit, loop, res.Kp, res.Ti, res.Td, res.Method))
	s.printf("tune %s %s: kp %g, ti_s %g, td_s %g (%s)\n", unit, loop, res.Kp, res.Ti, res.Td, res.Method)
	if res.Data != "" {
		s.printf("  %s\n", oneLine(res.Data))
	}
	if s.cfgMode {
		// A candidate is open: storing now would bypass it. Say how to do it by hand.
		f := loop + "_tuning"
		s.printf("To use them: set unit %s %s kp %g, ti_s %g, td_s %g, then commit\n", unit, f, res.Kp, res.Ti, res.Td)
		return nil
	}
	ok, err := s.confirm("Store this tuning in the configuration (new version)?")
	if err != nil {
		return err
	}
	if !ok {
		s.printf("tune %s %s: not stored; the loop keeps its gains\n", unit, loop)
		return nil
	}
	return s.storeTuning(unit, loop, res)
}

// storeTuning commits the running configuration with the unit's tuning replaced: the gains, the
// date, the method and the experiment's data, so the configuration says where its gains came from.
func (s *session) storeTuning(unit, loop string, res site.Tuning) error {
	run, _, err := s.c.b.RunningConfig(s.ctx)
	if err != nil {
		return backendErr("tune "+unit, err)
	}
	next, err := run.Clone()
	if err != nil {
		return backendErr("tune "+unit, err)
	}
	u := next.Unit(unit)
	if u == nil {
		return &userError{fmt.Sprintf("tune %s: the unit is no longer in the configuration; nothing stored", unit)}
	}
	if res.Date == "" {
		res.Date = s.now().UTC().Format(time.RFC3339)
	}
	t := res
	switch loop {
	case "valve":
		u.ValveTuning = &t
	default:
		u.FanTuning = &t
	}
	if err := next.Validate(); err != nil {
		return &userError{"tune " + unit + ": the tuning does not validate: " + oneLine(err.Error()) + "; nothing stored"}
	}
	nv, err := s.c.b.CommitConfig(s.ctx, next, CommitInfo{User: s.user.Name, Time: s.now(), Comment: "autotune " + unit + " " + loop})
	if err != nil {
		return &userError{"tune " + unit + ": commit failed: " + oneLine(err.Error()) + "; nothing changed"}
	}
	s.logEvent(EventCommit, fmt.Sprintf("version %d: autotune %s %s", nv.N, unit, loop))
	s.printf("tune %s %s: stored as configuration version %d\n", unit, loop, nv.N)
	return nil
}

func (s *session) testUnit(a []string) error {
	unit := a[0]
	s.printf("test unit %s: stepping fan and valve (any key aborts)\n", unit)
	var res UnitTest
	aborted, err := s.abortable(func(ctx context.Context) error {
		var err error
		res, err = s.c.b.TestUnit(ctx, unit, s.progress)
		return err
	})
	if aborted {
		s.logEvent(EventTestUnit, unit+" aborted")
		s.printf("test unit %s: aborted; the unit is back as it was\n", unit)
		return nil
	}
	if err != nil {
		return backendErr("test unit "+unit, err)
	}
	var rows [][]string
	passed := 0
	for _, c := range res.Checks {
		r := "FAIL"
		if c.Pass {
			r = "pass"
			passed++
		}
		rows = append(rows, []string{c.Name, r, c.Want, c.Got})
	}
	s.write(s.testResult(rows))
	verdict := "FAIL"
	if res.Pass {
		verdict = "PASS"
	}
	s.printf("test unit %s: %s (%d of %d checks passed)\n", unit, verdict, passed, len(res.Checks))
	s.logEvent(EventTestUnit, fmt.Sprintf("%s %s (%d of %d checks passed)", unit, verdict, passed, len(res.Checks)))
	return nil
}

// testResult shows the checks of a commissioning test whole (the numbers are the point of it):
// a table whose last column wraps when it fits the terminal, else one block per check.
func (s *session) testResult(rows [][]string) string {
	cols := []column{{title: "check"}, {title: "result"}, {title: "expected"}, {title: "measured", wrap: true}}
	need := 2 * len(cols)
	for i := range cols {
		w := utf8.RuneCountInString(cols[i].title)
		for _, r := range rows {
			w = max(w, utf8.RuneCountInString(printable(r[i])))
		}
		if i == len(cols)-1 {
			w = min(w, 20) // the measured column may wrap down to this
		}
		need += w
	}
	if need-2 <= s.width {
		return s.table(cols, rows)
	}
	var b strings.Builder
	for _, r := range rows {
		for i, l := range []string{r[1] + "  " + r[0], "expected " + r[2], "measured " + r[3]} {
			indent := "  "
			if i > 0 {
				indent = "        "
			}
			for _, part := range wrapText(printable(l), max(20, s.width-len(indent)-1)) {
				b.WriteString(indent + part + "\n")
			}
		}
	}
	return b.String()
}

func (s *session) modbusRead(words []string) error {
	r, err := parseModbusRead(s.running, words)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	regs, err := s.c.b.ModbusRead(ctx, r.req)
	if err != nil {
		return backendErr("modbus read", err)
	}
	s.write(r.render(regs))
	return nil
}

func (s *session) password([]string) error {
	s.term.AutoCompleteCallback = nil
	defer func() { s.term.AutoCompleteCallback = s.onKey }()
	err := s.changePassword(false)
	if err != nil && s.in.err == nil && s.ctx.Err() == nil && !errors.Is(err, errIdle) {
		var ue *userError
		if errors.As(err, &ue) {
			return err
		}
		return &userError{"password: cancelled; nothing changed"}
	}
	return err
}

// confirm asks a yes/no question; only "y" or "yes" is yes.
func (s *session) confirm(question string) (bool, error) {
	s.term.AutoCompleteCallback = nil
	defer func() { s.term.AutoCompleteCallback = s.onKey }()
	s.term.SetPrompt(question + " [y/N] ")
	ans, err := s.term.ReadLine()
	if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
		if s.in.err == nil && s.ctx.Err() == nil && !errors.Is(err, errIdle) {
			s.newTerm(false)
			return false, nil
		}
		return false, err
	}
	ans = strings.ToLower(strings.TrimSpace(ans))
	return ans == "y" || ans == "yes", nil
}

// confirmed asks question; a no is answered "cmd: cancelled" (nothing done).
func (s *session) confirmed(cmd, question string) (bool, error) {
	ok, err := s.confirm(question)
	if err == nil && !ok {
		s.write(cmd + ": cancelled\n")
	}
	return ok, err
}

func (s *session) reboot([]string) error {
	// Ask whether it may happen before asking whether it should: a yes answered with "not
	// permitted" wastes the technician's decision.
	if err := s.c.b.RebootPermitted(s.ctx); err != nil {
		s.logEvent(EventReboot, "reboot refused: "+oneLine(err.Error()))
		return backendErr("reboot", err)
	}
	s.write("reboot: the units run on their own BMS fallback until the board is back.\n")
	if ok, err := s.confirmed("reboot", "Reboot now?"); !ok {
		return err
	}
	s.logEvent(EventReboot, "reboot from the console")
	if err := s.c.b.Reboot(s.ctx); err != nil {
		return backendErr("reboot", err)
	}
	s.write("rebooting\n")
	return nil
}
