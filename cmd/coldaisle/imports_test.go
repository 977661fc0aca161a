package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the layers apart: control code is pure (no drivers, no bbolt, no periph
// host), and each third-party field library has exactly one importer.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the go tool")
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "github.com/coldaisle/coldaisle/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
	}
	const mod = "github.com/coldaisle/coldaisle/"
	only := map[string]string{
		"go.bug.st/serial":           mod + "drivers/serialport",
		"github.com/goburrow/modbus": mod + "drivers/modbus",
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		for _, imp := range p.Imports {
			for lib, owner := range only {
				if (imp == lib || strings.HasPrefix(imp, lib+"/")) && p.ImportPath != owner {
					t.Errorf("%s imports %s; only %s may", p.ImportPath, imp, owner)
				}
			}
			if strings.HasPrefix(p.ImportPath, mod+"control") {
				for _, bad := range []string{mod + "drivers", mod + "storage", mod + "board", "go.etcd.io/bbolt", "periph.io/x/host", "go.bug.st/serial", "github.com/goburrow"} {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						t.Errorf("%s imports %s: control code must stay free of drivers, storage and hardware", p.ImportPath, imp)
					}
				}
			}
		}
	}
	if n < 1 {
		t.Fatal("go list returned no packages")
	}
}
