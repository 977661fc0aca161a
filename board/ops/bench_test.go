package ops

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkScrape is one /metrics scrape of a hall of 1,000 sensors and 16 units, through the
// handler, plain and gzip (Prometheus asks for gzip).
func BenchmarkScrape(b *testing.B) {
	p, _ := hall(1000, 16)
	h := NewServer(p, ServerOptions{}).Handler()
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			var n int64
			for b.Loop() {
				req := httptest.NewRequest("GET", "/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
				n = int64(w.Body.Len())
			}
			b.ReportMetric(float64(n), "bytes/scrape")
		})
	}
}

// BenchmarkPage is one render of the status page of the same hall.
func BenchmarkPage(b *testing.B) {
	p, _ := hall(1000, 16)
	h := NewServer(p, ServerOptions{}).Handler()
	var n int64
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		n = int64(w.Body.Len())
	}
	b.ReportMetric(float64(n), "bytes/page")
}

// BenchmarkPublish is the control loop's cost: views 1 s apart, a trend sample every tenth.
func BenchmarkPublish(b *testing.B) {
	p, base := hall(1000, 16)
	// Views are reused (no reader here holds one; the trend keeps its own copies of the values).
	views := make([]View, 100)
	for i := range views {
		views[i] = *base
	}
	t := base.Time
	i := 0
	for b.Loop() {
		t = t.Add(time.Second)
		v := &views[i%len(views)]
		v.Time = t
		p.Publish(v)
		i++
	}
}
