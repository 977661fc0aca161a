package plant

import "github.com/coldaisle/coldaisle/control/tomlpos"

// locator is the scenario checker's view of tomlpos.Locator.
type locator struct{ l *tomlpos.Locator }

func locate(data []byte) *locator { return &locator{tomlpos.Locate(data)} }

func (l *locator) line(path string) int { return l.l.Line(path) }

func (l *locator) nth(key string, n int) (string, int) { return l.l.Nth(key, n) }
