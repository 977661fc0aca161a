package console

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coldaisle/coldaisle/control/site"
)

// AlarmDesk is the controller's list of active alarms, which the console shows, acknowledges and
// shelves (with who and when; the backend logs each).
type AlarmDesk interface {
	// ActiveAlarms returns the active alarms, newest first.
	ActiveAlarms(ctx context.Context) ([]Alarm, error)
	// AckAlarm acknowledges the alarm key for user; ErrNoAlarm when there is no such alarm.
	AckAlarm(ctx context.Context, key, user string) error
	// ShelveAlarm keeps the alarm key from being sent out again for d (it stays listed).
	ShelveAlarm(ctx context.Context, key, user string, d time.Duration) error
	// UnshelveAlarm ends a shelve early.
	UnshelveAlarm(ctx context.Context, key, user string) error
}

// ErrNoAlarm is wrapped by the AlarmDesk for a key that is not an active alarm.
var ErrNoAlarm = errors.New("console: no such alarm")

// Alarm is one active alarm.
type Alarm struct {
	Key          string // "zone/row-a/inlet-high"
	Source       string // "zone row-a"
	Kind         string // "inlet-high"
	Severity     string // critical, major, minor, warning
	Text         string
	Raised       time.Time
	AckedBy      string
	AckedAt      time.Time
	ShelvedBy    string
	ShelvedUntil time.Time
}

func alarmChoices(s *session, _ []string) []choice {
	as, _ := s.c.b.ActiveAlarms(s.ctx)
	out := []choice{{word: "all", help: "every active alarm"}}
	for _, a := range as {
		out = append(out, choice{word: a.Key, help: a.Severity + ": " + a.Text})
	}
	return out
}

func checkAlarmKey(s *session, _ []string, v string) error {
	if v == "all" {
		return nil
	}
	as, err := s.c.b.ActiveAlarms(s.ctx)
	if err != nil {
		return nil // the command says what the backend says
	}
	var keys []string
	for _, a := range as {
		if a.Key == v {
			return nil
		}
		keys = append(keys, a.Key)
	}
	if len(keys) == 0 {
		return fmt.Errorf("%q: no alarm is active", v)
	}
	return fmt.Errorf("%q is not an active alarm%s (show alarms lists them)", v, hintOf(v, keys))
}

// hintOf suggests the closest key, as "; did you mean K?", or nothing.
func hintOf(v string, keys []string) string {
	best, bd := "", 1<<30
	for _, k := range keys {
		if d := site.EditDistance(v, k); d < bd {
			best, bd = k, d
		}
	}
	if best == "" || bd > max(3, len(v)/3) {
		return ""
	}
	return "; did you mean " + best + "?"
}

func checkShelve(_ *session, _ []string, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a duration like 30m or 2h", v)
	}
	return nil
}

func (s *session) showAlarms([]string) error {
	as, err := s.c.b.ActiveAlarms(s.ctx)
	if err != nil {
		return backendErr("show alarms", err)
	}
	if len(as) == 0 {
		s.write("no active alarms\n")
		return nil
	}
	var rows [][]string
	for _, a := range as {
		state := "new"
		if a.AckedBy != "" {
			state = "ack " + a.AckedBy + " " + a.AckedAt.Format("15:04")
		}
		if !a.ShelvedUntil.IsZero() {
			state += "; shelved to " + a.ShelvedUntil.Format("15:04")
		}
		rows = append(rows, []string{a.Key, a.Severity, a.Raised.Format("01-02 15:04"), state})
	}
	// The reason, often long, goes on its own indented line under each alarm.
	lines := strings.Split(strings.TrimRight(s.table([]column{{title: "alarm", keep: true}, {title: "severity"}, {title: "since"}, {title: "state"}}, rows), "\n"), "\n")
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l + "\n")
		if i >= 1 && i-1 < len(as) {
			b.WriteString("    " + as[i-1].Text + "\n")
		}
	}
	s.write(b.String())
	return nil
}

// alarmKeys is the keys a command names: one, or every active alarm for "all".
func (s *session) alarmKeys(cmd, key string) ([]string, error) {
	if key != "all" {
		return []string{key}, nil
	}
	as, err := s.c.b.ActiveAlarms(s.ctx)
	if err != nil {
		return nil, backendErr(cmd, err)
	}
	var keys []string
	for _, a := range as {
		keys = append(keys, a.Key)
	}
	if len(keys) == 0 {
		return nil, &userError{cmd + ": no alarm is active"}
	}
	return keys, nil
}

func (s *session) alarmAck(a []string) error {
	keys, err := s.alarmKeys("alarm ack", a[0])
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.c.b.AckAlarm(s.ctx, k, s.user.Name); err != nil {
			return backendErr("alarm ack "+k, err)
		}
		s.logEvent(EventAlarm, "acknowledged "+k)
	}
	s.printf("alarm ack: %s acknowledged by %s\n", strings.Join(keys, ", "), s.user.Name)
	return nil
}

func (s *session) alarmShelve(a []string) error {
	d, _ := time.ParseDuration(a[1])
	keys, err := s.alarmKeys("alarm shelve", a[0])
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.c.b.ShelveAlarm(s.ctx, k, s.user.Name, d); err != nil {
			return backendErr("alarm shelve "+k, err)
		}
		s.logEvent(EventAlarm, fmt.Sprintf("shelved %s for %v", k, d))
	}
	s.printf("alarm shelve: %s shelved for %v (still listed; not sent out again until %s)\n", strings.Join(keys, ", "), d, s.now().Add(d).Format("15:04"))
	return nil
}

func (s *session) alarmUnshelve(a []string) error {
	keys, err := s.alarmKeys("alarm unshelve", a[0])
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.c.b.UnshelveAlarm(s.ctx, k, s.user.Name); err != nil {
			return backendErr("alarm unshelve "+k, err)
		}
		s.logEvent(EventAlarm, "unshelved "+k)
	}
	s.printf("alarm unshelve: %s\n", strings.Join(keys, ", "))
	return nil
}

// alarmNodes is the "alarm" command's grammar.
func alarmNodes() *node {
	key := func(run func(*session, []string) error, kids ...*node) *node {
		return &node{arg: "ALARM", help: "an active alarm's key (show alarms), or all", choices: alarmChoices, check: checkAlarmKey, run: run, kids: kids}
	}
	return kw("alarm", "acknowledge or shelve alarms", nil,
		kw("ack", "acknowledge: you have seen it (it stays until its cause clears)", nil, key((*session).alarmAck)),
		kw("shelve", "keep it from being sent out again for a while (it stays listed)", nil,
			key(nil, &node{arg: "DURATION", help: "e.g. 30m, 2h (at most alarms.max_shelve)", check: checkShelve, run: (*session).alarmShelve})),
		kw("unshelve", "end a shelve now", nil, key((*session).alarmUnshelve)))
}
