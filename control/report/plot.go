//go:build !noplot

package report

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Layout of the figure, in points.
const (
	headH   = vg.Length(50)  // headline above the panels
	legendW = vg.Length(150) // legend column right of the panels
	maxPx   = 10000
)

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}

	colInlet    = color.RGBA{R: 150, G: 172, B: 204, A: 255}
	colMax      = color.RGBA{R: 178, G: 24, B: 43, A: 255}
	colMeasured = color.RGBA{R: 84, G: 39, B: 143, A: 255}
	colSetpoint = color.RGBA{R: 27, G: 120, B: 55, A: 255}
	colLimit    = color.RGBA{R: 230, G: 85, B: 13, A: 255}
	colEvent    = color.RGBA{R: 90, G: 90, B: 90, A: 255}
	colOurs     = color.RGBA{R: 33, G: 102, B: 172, A: 255}
	colBase     = color.RGBA{R: 120, G: 120, B: 120, A: 255}
	colGrid     = color.RGBA{R: 225, G: 225, B: 225, A: 255}

	// unit colours (Tableau 10), repeated with dashes after ten units
	unitColors = []color.Color{
		color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
		color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
		color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
		color.RGBA{23, 190, 207, 255},
	}
)

func (o *PlotOptions) norm() error {
	if o.WidthPx == 0 {
		o.WidthPx = 1200
	}
	if o.HeightPx == 0 {
		o.HeightPx = 1000
	}
	if o.DPI == 0 {
		o.DPI = 96
	}
	if o.MaxPoints == 0 {
		o.MaxPoints = 2000
	}
	switch {
	case o.WidthPx < 300 || o.WidthPx > maxPx || o.HeightPx < 300 || o.HeightPx > maxPx:
		return fmt.Errorf("%w: plot size %dx%d px must be within 300..%d", ErrOption, o.WidthPx, o.HeightPx, maxPx)
	case o.DPI < 24 || o.DPI > 600:
		return fmt.Errorf("%w: plot dpi %d must be within 24..600", ErrOption, o.DPI)
	case o.MaxPoints < 10:
		return fmt.Errorf("%w: max points %d must be >= 10", ErrOption, o.MaxPoints)
	}
	return nil
}

// SavePNG writes the plot of r to path (see WritePNG).
func SavePNG(path string, r *Run, opt PlotOptions) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	bw := bufio.NewWriter(f)
	err = WritePNG(bw, r, opt)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("report: %w", cerr)
	}
	if err != nil {
		_ = os.Remove(path) // no half-written picture left behind
	}
	return err
}

// WritePNG draws the run as three panels sharing the time axis (minutes): inlet temperatures
// (every inlet thin, the max inlet bold, setpoint and limit lines, events as labelled
// vertical lines), fan speed per unit, and cumulative fan energy ours vs baseline. Fonts are
// the embedded Liberation fonts. A run without samples is ErrNoSamples.
func WritePNG(w io.Writer, r *Run, opt PlotOptions) error {
	if err := opt.norm(); err != nil {
		return err
	}
	if len(r.Samples) == 0 {
		return ErrNoSamples
	}
	title := orString(opt.Title, r.Title)
	if title == "" {
		title = "coldaisle"
	}
	sum := Summarize(r)
	panels := []*plot.Plot{inletPanel(r, opt), fanPanel(r, opt), energyPanel(r, opt, sum)}

	x0, x1 := timeRange(r)
	for _, p := range panels {
		p.X.Min, p.X.Max = x0, x1
		styleFonts(p)
	}
	panels[2].X.Label.Text = "plant time (min)"

	dpi := float64(opt.DPI)
	wPt := vg.Length(float64(opt.WidthPx) / dpi * float64(vg.Inch))
	hPt := vg.Length(float64(opt.HeightPx) / dpi * float64(vg.Inch))
	img := vgimg.NewWith(vgimg.UseWH(wPt, hPt), vgimg.UseDPI(opt.DPI))
	dc := draw.New(img)

	// headline
	head := text.Style{Color: color.Black, Font: font.From(sansBold, 15), XAlign: draw.XLeft, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
	dc.FillText(head, vg.Point{X: dc.Min.X + 12, Y: dc.Max.Y - 8}, sanitize(title))
	sub := head
	sub.Font = font.From(sans, 11)
	dc.FillText(sub, vg.Point{X: dc.Min.X + 12, Y: dc.Max.Y - 27}, headline(sum))

	cs := stack(panels, []float64{0.42, 0.29, 0.29}, draw.Crop(dc, 6, -legendW, 6, -headH), 16)
	for j, p := range panels {
		legend := p.Legend
		p.Legend = plot.NewLegend() // drawn outside the data, in the right-hand column
		p.Draw(cs[j])
		lc := cs[j]
		lc.Min.X, lc.Max.X = lc.Max.X+10, dc.Max.X-4
		lc.Max.Y -= 22 // below the panel title
		legend.Top, legend.Left = true, true
		legend.Draw(lc)
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	if err != nil {
		return fmt.Errorf("report: writing png: %w", err)
	}
	return nil
}

// stack splits c into rows of the given height shares, gap points apart, and narrows each
// so that the plots' data areas share their left and right edges (plot.Align does this for
// equal rows only; the inlet panel gets more height for its event labels).
func stack(ps []*plot.Plot, shares []float64, c draw.Canvas, gap vg.Length) []draw.Canvas {
	total := 0.0
	for _, s := range shares {
		total += s
	}
	h := c.Max.Y - c.Min.Y - gap*vg.Length(len(ps)-1)
	out := make([]draw.Canvas, len(ps))
	y := c.Max.Y
	var left, right vg.Length
	for i, p := range ps {
		ch := h * vg.Length(shares[i]/total)
		out[i] = c
		out[i].Min.Y, out[i].Max.Y = y-ch, y
		y -= ch + gap
		d := p.DataCanvas(out[i])
		left = max(left, d.Min.X-out[i].Min.X)
		right = max(right, out[i].Max.X-d.Max.X)
	}
	for i, p := range ps {
		d := p.DataCanvas(out[i])
		out[i].Min.X += left - (d.Min.X - out[i].Min.X)
		out[i].Max.X -= right - (out[i].Max.X - d.Max.X)
	}
	return out
}

// timeRange is the shared x axis in minutes.
func timeRange(r *Run) (x0, x1 float64) {
	x0, x1 = r.Samples[0].T/60, r.Samples[len(r.Samples)-1].T/60
	if x1-x0 < 1e-9 {
		x1 = x0 + 1
	}
	if x0 > 0 && x0 < 0.05*(x1-x0) {
		x0 = 0 // a run whose first sample comes a step after the start still starts at 0
	}
	return x0, x1
}

func headline(s Summary) string {
	txt := fmt.Sprintf("%s of plant time   max true inlet %s °C", clock(s.DurationS), num(s.MaxInletC, 0, 1))
	if isFinite(s.MaxInletSettledC) {
		txt += fmt.Sprintf(" (%s °C after %.0f min)", num(s.MaxInletSettledC, 0, 1), s.SettleS/60)
	}
	txt += fmt.Sprintf("   %.1f min above %.0f °C   fan energy %.2f kWh vs baseline %.2f kWh",
		s.AboveLimitS/60, s.LimitC, s.FanKWh, s.BaselineFanKWh)
	if isFinite(s.SavingPct) {
		txt += fmt.Sprintf(" (saving %.0f %%)", s.SavingPct)
	}
	return txt
}

func newPanel(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = colGrid, colGrid
	p.Add(g)
	p.Legend.ThumbnailWidth = 28
	p.Legend.Padding = 3
	p.X.Tick.Marker = niceTicks{target: 10, steps: []float64{1, 2, 5}} // whole minutes
	p.Y.Tick.Marker = niceTicks{target: 6, steps: []float64{1, 2, 2.5, 5}}
	return p
}

func styleFonts(p *plot.Plot) {
	p.Title.TextStyle.Font = font.From(sansBold, 12)
	p.Title.Padding = 4
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 11)
		a.Tick.Label.Font = font.From(sans, 9)
	}
	p.Legend.TextStyle.Font = font.From(sans, 10)
}

func inletPanel(r *Run, opt PlotOptions) *plot.Plot {
	p := newPanel("Inlet temperatures: true (the plant's racks) and measured (the controller's sensors)", "inlet temperature (°C)")
	n := len(r.Samples)
	xs := make([]float64, n)
	width := 0
	for i := range r.Samples {
		xs[i] = r.Samples[i].T / 60
		width = max(width, len(r.Samples[i].InletsC))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	ys := make([]float64, n)
	var first *plotter.Line
	for j := 0; j < width; j++ {
		for i := range r.Samples {
			ys[i] = math.NaN()
			if in := r.Samples[i].InletsC; j < len(in) && isFinite(in[j]) {
				ys[i] = in[j]
				lo, hi = math.Min(lo, in[j]), math.Max(hi, in[j])
			}
		}
		l := addSeries(p, xs, ys, opt.MaxPoints, draw.LineStyle{Color: colInlet, Width: 0.6})
		if first == nil {
			first = l
		}
	}
	if first != nil {
		p.Legend.Add(fmt.Sprintf("true inlets (%d)", width), first)
	}

	sps := make([]float64, n)
	for i := range r.Samples {
		ys[i] = r.Samples[i].MaxInletC()
		sps[i] = r.setpointAt(&r.Samples[i])
	}
	if l := addSeries(p, xs, ys, opt.MaxPoints, draw.LineStyle{Color: colMax, Width: 2.2}); l != nil {
		p.Legend.Add("max true inlet", l)
	}
	// what the controller saw: its zone values from the sensors (delayed, noisy, with gaps)
	meas := make([]float64, n)
	for i := range r.Samples {
		meas[i] = r.Samples[i].MaxMeasuredC()
		if isFinite(meas[i]) {
			lo, hi = math.Min(lo, meas[i]), math.Max(hi, meas[i])
		}
	}
	if l := addSeries(p, xs, meas, opt.MaxPoints, draw.LineStyle{Color: colMeasured, Width: 1.6, Dashes: []vg.Length{5, 2}}); l != nil {
		p.Legend.Add("max measured", l)
	}
	if l := addSeries(p, xs, sps, opt.MaxPoints, draw.LineStyle{Color: colSetpoint, Width: 1.4, Dashes: []vg.Length{7, 3}}); l != nil {
		name := "setpoint"
		if sp := sps[0]; isFinite(sp) && constant(sps) {
			name = fmt.Sprintf("setpoint %.1f °C", sp)
		}
		p.Legend.Add(name, l)
		for _, v := range sps {
			if isFinite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	lim := r.limitC()
	limLine := hline(xs[0], xs[n-1], lim, draw.LineStyle{Color: colLimit, Width: 1.4, Dashes: []vg.Length{2, 2}})
	p.Add(limLine)
	p.Legend.Add(fmt.Sprintf("limit %.1f °C", lim), limLine)
	var ev *marks
	if evs := roomEvents(r.Events); len(evs) > 0 {
		ev = eventMarks(evs, true)
		ev.dataTop = math.Max(hi, lim)
		p.Add(ev)
		p.Legend.Add("room event", ev)
	}

	if math.IsInf(lo, 0) {
		lo, hi = lim-5, lim
	}
	p.Y.Min = math.Floor(math.Min(lo, lim) - 0.5)
	p.Y.Max = math.Ceil(math.Max(hi, lim) + 0.5)
	if ev != nil {
		// headroom for the rows of event labels, estimated from the figure size
		dpi := float64(opt.DPI)
		dataW := vg.Length(float64(opt.WidthPx)/dpi*float64(vg.Inch)) - legendW - 70
		dataH := vg.Length(0.42*(float64(opt.HeightPx)/dpi*float64(vg.Inch)-float64(headH)-44)) - 55
		x0, x1 := timeRange(r)
		band := vg.Length(ev.rowsNeeded(x0, x1, dataW))*ev.lineH() + 6
		frac := math.Min(1.5, float64(band/max(dataH-band, 10)))
		p.Y.Max += frac * (p.Y.Max - p.Y.Min)
	}
	return p
}

func fanPanel(r *Run, opt PlotOptions) *plot.Plot {
	p := newPanel("Fan speed per unit", "fan speed (%)")
	n := len(r.Samples)
	xs := make([]float64, n)
	var names []string
	seen := map[string]bool{}
	for i := range r.Samples {
		xs[i] = r.Samples[i].T / 60
		for _, u := range r.Samples[i].Units {
			if !seen[u.Name] {
				seen[u.Name] = true
				names = append(names, u.Name)
			}
		}
	}
	ys := make([]float64, n)
	for k, name := range names {
		for i := range r.Samples {
			ys[i] = math.NaN()
			for _, u := range r.Samples[i].Units {
				if u.Name == name && isFinite(u.FanPct) {
					ys[i] = u.FanPct
					break
				}
			}
		}
		// earlier units are drawn wider, so units running at the same speed stay visible
		// as stacked stripes instead of hiding each other
		w := 1.5
		if len(names) > 1 {
			w += 3.5 * float64(len(names)-1-k) / float64(len(names)-1)
		}
		sty := draw.LineStyle{Color: unitColors[k%len(unitColors)], Width: vg.Length(w)}
		if k >= len(unitColors) {
			sty.Dashes = []vg.Length{6, 3}
		}
		if l := addSeries(p, xs, ys, opt.MaxPoints, sty); l != nil {
			p.Legend.Add(clipRunes(sanitize(orString(name, "?")), 20), l)
		}
	}
	if evs := roomEvents(r.Events); len(evs) > 0 {
		p.Add(eventMarks(evs, false))
	}
	p.Y.Min, p.Y.Max = 0, 105
	return p
}

func energyPanel(r *Run, opt PlotOptions, s Summary) *plot.Plot {
	title := "Cumulative fan energy"
	if isFinite(s.SavingPct) {
		title += fmt.Sprintf(": ours %.2f kWh vs baseline %.2f kWh, saving %.1f %%", s.FanKWh, s.BaselineFanKWh, s.SavingPct)
	}
	p := newPanel(title, "fan energy (kWh)")
	n := len(r.Samples)
	xs, ours, base := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range r.Samples {
		xs[i], ours[i], base[i] = r.Samples[i].T/60, r.Samples[i].FanKWh, r.Samples[i].BaselineFanKWh
	}
	if l := addSeries(p, xs, base, opt.MaxPoints, draw.LineStyle{Color: colBase, Width: 2, Dashes: []vg.Length{8, 4}}); l != nil {
		p.Legend.Add("baseline (100 % fans)", l)
	}
	if l := addSeries(p, xs, ours, opt.MaxPoints, draw.LineStyle{Color: colOurs, Width: 2.2}); l != nil {
		p.Legend.Add("coldaisle", l)
	}
	if evs := roomEvents(r.Events); len(evs) > 0 {
		p.Add(eventMarks(evs, false))
	}
	p.Y.Min = 0
	return p
}

// addSeries adds ys over xs as lines, split at NaN gaps and reduced to maxPts points per
// segment. It returns one of the lines (for the legend), nil when there was nothing to draw.
func addSeries(p *plot.Plot, xs, ys []float64, maxPts int, sty draw.LineStyle) *plotter.Line {
	var first *plotter.Line
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		pts := decimate(xs[start:end], ys[start:end], maxPts)
		start = -1
		l, err := plotter.NewLine(pts)
		if err != nil {
			return // cannot happen: the points are finite
		}
		l.LineStyle = sty
		p.Add(l)
		if first == nil {
			first = l
		}
	}
	for i, y := range ys {
		if isFinite(y) && isFinite(xs[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(ys))
	return first
}

// decimate keeps every point when there are at most maxPts, else the first and last point
// and, per bucket, the minimum and the maximum in time order (peaks survive).
func decimate(xs, ys []float64, maxPts int) plotter.XYs {
	n := len(xs)
	if n <= maxPts {
		out := make(plotter.XYs, n)
		for i := range xs {
			out[i] = plotter.XY{X: xs[i], Y: ys[i]}
		}
		return out
	}
	buckets := max(1, (maxPts-2)/2)
	out := make(plotter.XYs, 0, 2*buckets+2)
	out = append(out, plotter.XY{X: xs[0], Y: ys[0]})
	for b := 0; b < buckets; b++ {
		lo := 1 + b*(n-2)/buckets
		hi := 1 + (b+1)*(n-2)/buckets
		if lo >= hi {
			continue
		}
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if ys[i] < ys[imin] {
				imin = i
			}
			if ys[i] > ys[imax] {
				imax = i
			}
		}
		a, c := min(imin, imax), max(imin, imax)
		out = append(out, plotter.XY{X: xs[a], Y: ys[a]})
		if c != a {
			out = append(out, plotter.XY{X: xs[c], Y: ys[c]})
		}
	}
	return append(out, plotter.XY{X: xs[n-1], Y: ys[n-1]})
}

func constant(v []float64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

func hline(x0, x1, y float64, sty draw.LineStyle) *plotter.Line {
	if x1 <= x0 {
		x1 = x0 + 1
	}
	l, _ := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}}) // finite by construction
	l.LineStyle = sty
	return l
}

// marks draws events as vertical lines over the whole panel height. With labels, each label
// is written horizontally next to the top of its line, in the band above dataTop (the panel's
// headroom, so labels never hide data), packed into as many rows as the band holds; events
// at the same spot share a label; a label that finds no room is shortened or left out (the
// summary lists every event).
type marks struct {
	events  []Event
	labels  bool
	dataTop float64 // y value above which the panel is kept free for labels
	line    draw.LineStyle
	text    text.Style
}

func eventMarks(evs []Event, labels bool) *marks {
	return &marks{
		events: evs,
		labels: labels,
		line:   draw.LineStyle{Color: colEvent, Width: 1, Dashes: []vg.Length{4, 3}},
		text: text.Style{Color: color.RGBA{R: 40, G: 40, B: 40, A: 255}, Font: font.From(sans, 9),
			XAlign: draw.XLeft, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler},
	}
}

func (m *marks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	type group struct {
		x      vg.Length
		labels []string
	}
	var groups []group
	for _, e := range sortedEvents(m.events) {
		x := trX(e.T / 60)
		if !isFinite(e.T) || !(x >= c.Min.X && x <= c.Max.X) { // NaN-proof
			continue
		}
		c.StrokeLine2(m.line, x, c.Min.Y, x, c.Max.Y)
		lbl := sanitize(e.Label)
		if !m.labels || lbl == "" {
			continue
		}
		if n := len(groups); n > 0 && x-groups[n-1].x < 3 {
			groups[n-1].labels = append(groups[n-1].labels, lbl)
			continue
		}
		groups = append(groups, group{x: x, labels: []string{lbl}})
	}
	if len(groups) == 0 {
		return
	}
	lineH := m.lineH()
	top := c.Max.Y - 2
	// clamp in floating point: converting an out-of-range float to int differs per arch
	rowsF := float64((top - trY(m.dataTop)) / lineH)
	if !(rowsF >= 1) { // NaN too
		rowsF = 1
	}
	nrows := int(math.Min(20, rowsF))
	type span struct{ x0, x1 vg.Length }
	rows := make([][]span, nrows)
	free := func(r int, sp span) bool {
		for _, o := range rows[r] {
			if sp.x0 < o.x1+gap && o.x0 < sp.x1+gap {
				return false
			}
		}
		return true
	}
	// room right of x in row r (up to the next label or the edge)
	room := func(r int, x vg.Length) vg.Length {
		end := c.Max.X
		for _, o := range rows[r] {
			if o.x1+gap > x && o.x0 < x {
				return 0
			}
			if o.x0 >= x {
				end = min(end, o.x0-gap)
			}
		}
		return end - x
	}
	for _, g := range groups {
		lbl := clipRunes(strings.Join(g.labels, " / "), 60)
		w := m.text.Width(lbl)
		right := span{g.x + pad, g.x + pad + w}
		if right.x1 > c.Max.X {
			right = span{g.x - pad - w, g.x - pad} // near the right edge: left of the line
		}
		row := -1
		for r := range rows {
			if right.x0 >= c.Min.X && free(r, right) {
				row = r
				break
			}
		}
		if row < 0 { // shorten into the roomiest row, right of the line
			best := vg.Length(0)
			for r := range rows {
				if rm := room(r, g.x+pad); rm > best {
					best, row = rm, r
				}
			}
			for row >= 0 && m.text.Width(lbl) > best && utf8.RuneCountInString(lbl) > 6 {
				lbl = clipRunes(lbl, utf8.RuneCountInString(lbl)-1)
			}
			if row < 0 || m.text.Width(lbl) > best {
				continue
			}
			right = span{g.x + pad, g.x + pad + m.text.Width(lbl)}
		}
		rows[row] = append(rows[row], right)
		y := top - vg.Length(row+1)*lineH
		// a translucent backing keeps the label readable over the grid and other event lines
		c.FillPolygon(color.NRGBA{R: 255, G: 255, B: 255, A: 225}, []vg.Point{
			{X: right.x0 - 1, Y: y - 1}, {X: right.x1 + 1, Y: y - 1}, {X: right.x1 + 1, Y: y + lineH - 1}, {X: right.x0 - 1, Y: y + lineH - 1},
		})
		c.FillText(m.text, vg.Point{X: right.x0, Y: y + 1}, lbl)
	}
}

const pad, gap = vg.Length(3), vg.Length(8) // label to line, label to label

func (m *marks) lineH() vg.Length { return m.text.Height("Mg") + 2 }

// rowsNeeded estimates the label rows for a data area dataW points wide showing minutes
// x0..x1: the same greedy packing as Plot, without shortening, at most 8.
func (m *marks) rowsNeeded(x0, x1 float64, dataW vg.Length) int {
	var ends []vg.Length // per row, where its last label ends
	lastX := vg.Length(math.Inf(-1))
	for _, e := range sortedEvents(m.events) {
		x := vg.Length((e.T/60 - x0) / (x1 - x0) * float64(dataW))
		lbl := sanitize(e.Label)
		if !isFinite(e.T) || !(x >= 0 && x <= dataW) || lbl == "" || x-lastX < 3 {
			continue // outside, unlabelled, or sharing the previous label (approximately)
		}
		lastX = x
		x0 := x + pad
		x1 := x0 + m.text.Width(clipRunes(lbl, 60))
		if x1 > dataW {
			x0, x1 = x-pad-(x1-x0), x-pad
		}
		placed := false
		for r := range ends {
			if x0 >= ends[r]+gap {
				ends[r], placed = x1, true
				break
			}
		}
		if !placed && len(ends) < 8 {
			ends = append(ends, x1)
		}
	}
	return max(1, len(ends))
}

func sortedEvents(evs []Event) []Event {
	out := append([]Event(nil), evs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// Thumbnail draws the legend icon: a short vertical dashed line.
func (m *marks) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(m.line, x, c.Min.Y, x, c.Max.Y)
}

// niceTicks labels about target major ticks at steps times a power of ten, with minor ticks
// between labels (the default ticker labels too few for a 30 min run).
type niceTicks struct {
	target int
	steps  []float64 // ascending, within [1, 10)
}

func (n niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !isFinite(lo) || !isFinite(hi) {
		return []plot.Tick{{Value: lo, Label: fmt.Sprintf("%g", lo)}}
	}
	raw := (hi - lo) / float64(max(n.target, 2))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range n.steps {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	minor := step / 5
	if m := step / mag; math.Abs(m-2) < 1e-9 || math.Abs(m-20) < 1e-9 {
		minor = step / 4
	}
	var ts []plot.Tick
	first := math.Ceil(lo/minor-1e-9) * minor
	for k := 0; ; k++ {
		v := first + float64(k)*minor
		if v > hi+minor*1e-9 || k > 10000 {
			break
		}
		t := plot.Tick{Value: v}
		if r := v / step; math.Abs(r-math.Round(r)) < 1e-6 {
			t.Label = strconvG(math.Round(r) * step)
		}
		ts = append(ts, t)
	}
	return ts
}

// strconvG prints a tick value without float noise (0.30000000000000004 -> 0.3).
func strconvG(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%.6g", v)
}
