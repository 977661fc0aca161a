package alarms_test

import (
	"reflect"
	"testing"

	"github.com/coldaisle/coldaisle/board/ops"
	"github.com/coldaisle/coldaisle/control/alarms"
)

func TestSeverityOf(t *testing.T) {
	want := map[string]alarms.Severity{
		"inlet-high":   alarms.Critical,
		"insufficient": alarms.Major, "tripped": alarms.Major, "isolated": alarms.Major,
		"storage": alarms.Major, "config": alarms.Major, "implausible": alarms.Major,
		"sensor-range": alarms.Major, "hot-spot": alarms.Major,
		"fallback": alarms.Minor, "degraded": alarms.Minor, "unit-alarm": alarms.Minor,
		"write": alarms.Minor, "read-back": alarms.Minor,
		"battery": alarms.Warning,
		"":        alarms.Major, "never-heard-of": alarms.Major,
	}
	for kind, s := range want {
		if got := alarms.SeverityOf(kind); got != s {
			t.Errorf("SeverityOf(%q) = %v, want %v", kind, got, s)
		}
	}
}

func TestSeverityNames(t *testing.T) {
	for _, c := range []struct {
		s      alarms.Severity
		name   string
		syslog int
	}{
		{alarms.Critical, "critical", 2}, {alarms.Major, "major", 3}, {alarms.Minor, "minor", 4},
		{alarms.Warning, "warning", 5}, {alarms.Severity(-1), "unknown", 2}, {alarms.Severity(9), "unknown", 2},
	} {
		if c.s.String() != c.name || c.s.Syslog() != c.syslog {
			t.Errorf("Severity(%d) = %q <%d>, want %q <%d>", int(c.s), c.s.String(), c.s.Syslog(), c.name, c.syslog)
		}
	}
	if got := (alarms.Effect{Kind: alarms.EffectCleared, Alarm: alarms.Alarm{Severity: alarms.Critical}}).Syslog(); got != 6 {
		t.Errorf("a clear goes at %d, want 6 (info)", got)
	}
}

// TestMapsOntoOpsAlarm: every field the ops View shows exists here under the same name, so the
// appliance maps one to one (Severity through its String).
func TestMapsOntoOpsAlarm(t *testing.T) {
	ot, at := reflect.TypeFor[ops.Alarm](), reflect.TypeFor[alarms.Alarm]()
	for i := range ot.NumField() {
		of := ot.Field(i)
		af, ok := at.FieldByName(of.Name)
		if !ok {
			t.Errorf("ops.Alarm.%s has no counterpart in alarms.Alarm", of.Name)
			continue
		}
		if af.Type != of.Type && !(of.Name == "Severity" && of.Type.Kind() == reflect.String) {
			t.Errorf("ops.Alarm.%s is %v, alarms.Alarm.%s is %v", of.Name, of.Type, af.Name, af.Type)
		}
	}
}
