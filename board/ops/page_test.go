package ops

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium runs headless Chromium on url with args and returns its stdout. Virtual time lets the
// page's script run (its first refresh fetches the page again) before the DOM is dumped.
func chromium(t *testing.T, url string, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("an external browser; the host run (not -short) checks the page in it")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (scripts/deps.sh installs Debian's chromium package): " + err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-extensions", "--disable-background-networking", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=4000", "--window-size=1280,900"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

func TestChromiumShowsTheStatusPage(t *testing.T) {
	p, v := hall(1000, 16)
	s := serve(t, p, ServerOptions{Now: fixedNow(v)})

	dom := chromium(t, s.url+"/", "--dump-dom")
	for _, want := range []string{
		"<h1>hall-b</h1>",                            // site
		"controlling",                                // state
		"v1.4.2-3-gdeadbee",                          // software
		"configuration <b>v17</b>",                   // configuration version
		v.Alarms[0].Text,                             // an alarm text
		"acknowledged by jlee",                       // its handling
		"shelved until",                              //
		"<b>row-c</b>",                               // a zone
		"manual 60 % (console, 20 min left)",         // a unit's why line
		"at min_fan_pct 30 %",                        //
		"fail-safe: no read-back, at fallback 100 %", //
		`<svg class="trend"`,                         // the trend
		"<polyline",                                  //
		"Sensors needing attention",                  //
		"live · refreshed",                           // the script ran: CSP let it, and its fetch
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page as Chromium shows it lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%.4000s", dom)
	}

	if os.Getenv("COLDAISLE_UPDATE_SCREENSHOT") == "1" {
		dir := t.TempDir()
		png := filepath.Join(dir, "shot.png")
		// Tall enough for the whole page of a 16-unit hall, trend included.
		chromium(t, s.url+"/", "--screenshot="+png, "--hide-scrollbars", "--window-size=1280,1640")
		b, err := os.ReadFile(png)
		if err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
			t.Fatalf("screenshot: %v (%d bytes)", err, len(b))
		}
		if err := os.WriteFile(filepath.Join("testdata", "status-page.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote testdata/status-page.png (%d bytes)", len(b))
	}
}
