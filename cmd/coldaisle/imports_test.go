package main

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// mod is this module's path; patterns starting with "@/" are relative to it.
const mod = "github.com/coldaisle/coldaisle"

// importRule is one layering rule: no package matching pkgs (and not matching except) may import
// a package matching forbid, unless the import also matches permit. Patterns: "@/x" is the
// module's package x, "@/x/..." is x and everything under it, "@/..." the whole module,
// "nonstd" any import outside the standard library; anything else is an import path, with
// "/..." for its subpackages. Only the production imports are checked (not _test.go files):
// the rules keep the shipped program layered, tests may wire anything together.
type importRule struct {
	name   string
	pkgs   []string
	except []string
	forbid []string
	permit []string
	// deps checks every package linked in (go list's Deps), not only direct imports.
	deps bool
	// known lists imports that break the rule today and are kept on purpose: package -> import.
	// Each entry must still exist (a stale exception fails the test), so fixing the code means
	// deleting the entry.
	known map[string]string
	why   string
}

// simulators are the simulated field devices and room. Test helpers and the simulation
// commands may use them; the program that runs a site must not.
var simulators = []string{"@/drivers/mesh/meshsim", "@/drivers/modbus/modbussim", "@/drivers/ahu/ahusim", "@/drivers/twin"}

var importRules = []importRule{
	{
		name:   "control is pure",
		pkgs:   []string{"@/control/..."},
		forbid: []string{"@/drivers/...", "@/storage/...", "@/board/...", "go.etcd.io/bbolt/...", "periph.io/x/host/...", "go.bug.st/serial/...", "github.com/goburrow/..."},
		why:    "control code runs on an injected clock with no drivers, storage or hardware, so hours of plant time run in seconds and the loops are testable alone",
	},
	{
		name:   "one serial stack",
		pkgs:   []string{"@/..."},
		except: []string{"@/drivers/serialport"},
		forbid: []string{"go.bug.st/serial/..."},
		why:    "drivers/serialport is the only importer of go.bug.st/serial; everything else codes against its Port and never sees that library's quirks",
	},
	{
		name:   "one Modbus library",
		pkgs:   []string{"@/..."},
		except: []string{"@/drivers/modbus"},
		forbid: []string{"github.com/goburrow/..."},
		why:    "drivers/modbus is the only importer of goburrow/modbus and puts its own transports under it; the library's own ones corrupt the line after faults",
	},
	{
		name:   "storage is a leaf",
		pkgs:   []string{"@/storage/..."},
		forbid: []string{"@/...", "nonstd"},
		permit: []string{"go.etcd.io/bbolt/..."},
		why:    "storage keeps bytes and records for everyone else: it imports no package of this module and no library but bbolt, so it can never pull control or drivers into a database tool",
	},
	{
		name:   "drivers do not reach the board",
		pkgs:   []string{"@/drivers/..."},
		forbid: []string{"@/board/..."},
		why:    "board is the board's program and hardware (LEDs, relay, watchdog, console, appliance); drivers sit below it and run on any machine",
	},
	{
		name: "production code does not import simulators",
		pkgs: []string{"@/..."},
		except: append([]string{
			"@/cmd/coldaisle/internal/sim", // wires `coldaisle sim`
			"@/control/bench",              // the lockstep benchmark is a simulation itself
			"@/board/console/consoletest",  // test helpers
			"@/control/pid/pidtest",
			"@/drivers/internal/peertest",
			"@/drivers/serialport/socatpair",
		}, simulators...),
		forbid: simulators,
		known: map[string]string{
			// `coldaisle twin` (cmd_twin.go) runs the twin and checks its write log from the
			// main package; the sim command goes through internal/sim instead.
			"@/cmd/coldaisle": "@/drivers/twin",
		},
		why: "a simulator in the shipped controller could answer for a real device; the simulated devices stay in tests, the twin and the sim command",
	},
	{
		name:   "the appliance links no simulator",
		pkgs:   []string{"@/board/...", "@/storage/...", "@/drivers/field"},
		except: []string{"@/board/console/consoletest"},
		forbid: simulators,
		deps:   true,
		why:    "`coldaisle run` must not even link a simulated device, not through any package it uses",
	},
}

type listedPkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// expand turns "@/" into the module path.
func expand(pattern string) string {
	if rest, ok := strings.CutPrefix(pattern, "@/"); ok {
		if rest == "..." {
			return mod + "/..."
		}
		return mod + "/" + rest
	}
	return pattern
}

func matches(pattern, path string) bool {
	if pattern == "nonstd" {
		first, _, _ := strings.Cut(path, "/")
		return strings.Contains(first, ".") // the go tool's own test for a standard package
	}
	p := expand(pattern)
	if base, ok := strings.CutSuffix(p, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == p
}

func matchesAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if matches(p, path) {
			return true
		}
	}
	return false
}

// goList lists every package of the module and everything it links in.
func goList(t *testing.T) (module []listedPkg, all map[string]bool) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports,Deps", mod+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	all = map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		all[p.ImportPath] = true
		if matches("@/...", p.ImportPath) {
			module = append(module, p)
		}
	}
	if len(module) == 0 {
		t.Fatal("go list returned no package of the module")
	}
	return module, all
}

// TestImportRules keeps the layers apart; each row of importRules says what and why.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go tool")
	}
	pkgs, all := goList(t)
	for _, r := range importRules {
		t.Run(r.name, func(t *testing.T) {
			checkRuleIsLive(t, r, pkgs, all)
			seen := map[string]bool{} // known exceptions met
			for _, p := range pkgs {
				if !matchesAny(r.pkgs, p.ImportPath) || matchesAny(r.except, p.ImportPath) {
					continue
				}
				imps, verb := p.Imports, "imports"
				if r.deps {
					imps, verb = p.Deps, "links"
				}
				for _, imp := range imps {
					if !matchesAny(r.forbid, imp) || matchesAny(r.permit, imp) {
						continue
					}
					if k, ok := r.known[rel(p.ImportPath)]; ok && expand(k) == imp {
						seen[rel(p.ImportPath)] = true
						continue
					}
					t.Errorf("rule %q: %s %s %s\n\twhy: %s", r.name, p.ImportPath, verb, imp, r.why)
				}
			}
			for pkg, imp := range r.known {
				if !seen[pkg] {
					t.Errorf("rule %q: known exception %s -> %s no longer happens: delete it from importRules", r.name, pkg, imp)
				}
			}
		})
	}
}

// checkRuleIsLive fails a rule that could never fire because a package it names was renamed or
// removed: every package pattern must match a package of the module, and every forbidden pattern
// something the module links in (or, for the module's own packages, a package of the module).
func checkRuleIsLive(t *testing.T, r importRule, pkgs []listedPkg, all map[string]bool) {
	t.Helper()
	inModule := func(pattern string) bool {
		for _, p := range pkgs {
			if matches(pattern, p.ImportPath) {
				return true
			}
		}
		return false
	}
	for _, list := range [][]string{r.pkgs, r.except} {
		for _, pat := range list {
			if !inModule(pat) {
				t.Errorf("rule %q: package pattern %s matches no package of the module (renamed?); the rule would pass vacuously", r.name, pat)
			}
		}
	}
	for _, pat := range append(append([]string(nil), r.forbid...), r.permit...) {
		found := false
		for path := range all {
			if matches(pat, path) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("rule %q: import pattern %s matches nothing the module links (renamed or dropped?)", r.name, pat)
		}
	}
	for pkg, imp := range r.known {
		if !inModule(pkg) || !inModule(imp) {
			t.Errorf("rule %q: known exception %s -> %s names a package that does not exist", r.name, pkg, imp)
		}
	}
}

func rel(path string) string {
	if rest, ok := strings.CutPrefix(path, mod+"/"); ok {
		return "@/" + rest
	}
	return path
}

// TestImportRuleMatcher checks the pattern matcher itself, so a broken matcher cannot make every
// rule pass.
func TestImportRuleMatcher(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"@/control/...", mod + "/control", true},
		{"@/control/...", mod + "/control/pid/pidtest", true},
		{"@/control/...", mod + "/controlx", false},
		{"@/drivers/modbus", mod + "/drivers/modbus/modbussim", false},
		{"@/...", mod, true},
		{"@/...", "github.com/coldaisle/coldaislex/y", false},
		{"go.bug.st/serial/...", "go.bug.st/serial/enumerator", true},
		{"go.bug.st/serial/...", "go.bug.st/serialx", false},
		{"nonstd", "golang.org/x/sys/unix", true},
		{"nonstd", "encoding/json", false},
		{"nonstd", "C", false},
	}
	for _, c := range cases {
		if got := matches(c.pattern, c.path); got != c.want {
			t.Errorf("matches(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}
