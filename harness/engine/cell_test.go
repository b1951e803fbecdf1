package engine

import (
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/runtime"
)

func TestParseCellQualifiers(t *testing.T) {
	for in, want := range map[string]Cell{
		"containerd-2.3.5/runc-1.3.6":                {Runtime: runtime.Containerd, Version: "2.3.5", Runc: "1.3.6"},
		"dockerd-29.8.1/runc-1.3.6":                  {Runtime: runtime.Dockerd, Version: "29.8.1", Runc: "1.3.6"},
		"dockerd-28.5.2/containerd-2.3.5":            {Runtime: runtime.Dockerd, Version: "28.5.2", Containerd: "2.3.5"},
		"dockerd-28.5.2/containerd-2.3.5/runc-1.5.1": {Runtime: runtime.Dockerd, Version: "28.5.2", Containerd: "2.3.5", Runc: "1.5.1"},
		"dockerd-28.5.2/runc-1.5.1/containerd-2.3.5": {Runtime: runtime.Dockerd, Version: "28.5.2", Containerd: "2.3.5", Runc: "1.5.1"},
		"containerd-1.7.24":                          {Runtime: runtime.Containerd, Version: "1.7.24"},
	} {
		c, err := ParseCell(in)
		if err != nil {
			t.Errorf("ParseCell(%q): %v", in, err)
			continue
		}
		if c != want {
			t.Errorf("ParseCell(%q) = %+v, want %+v", in, c, want)
		}
		// String is canonical: qualifiers in table order, and it parses back.
		back, err := ParseCell(c.String())
		if err != nil || back != c {
			t.Errorf("ParseCell(%q.String() = %q) = %+v, %v; want the same cell", in, c.String(), back, err)
		}
	}
	if got := (Cell{Runtime: runtime.Dockerd, Version: "28.5.2", Runc: "1.5.1", Containerd: "2.3.5"}).String(); got != "dockerd-28.5.2/containerd-2.3.5/runc-1.5.1" {
		t.Errorf("String() = %q, want containerd before runc", got)
	}
}

func TestParseCellRejects(t *testing.T) {
	for in, want := range map[string]string{
		"containerd-2.3.5/":                      `unknown qualifier ""`,
		"containerd-2.3.5/crun-1.19.1":           `unknown qualifier "crun-1.19.1"`,
		"containerd-2.3.5/runc":                  `runc qualifier: version "" is not a release number`,
		"containerd-2.3.5/runc-main":             `runc qualifier: version "main"`,
		"containerd-2.3.5/runc-1.3.6/runc-1.3.7": "names runc twice",
		"containerd-2.3.5/containerd-2.1.9":      "a containerd qualifier pairs a dockerd",
		"dockerd-28.5.2/containerd-2.x":          `containerd qualifier: version "2.x"`,
		"runc-1.3.6":                             "want <containerd|dockerd>-<version>[/containerd-<version>][/runc-<version>]",
		"/runc-1.3.6":                            "want <containerd|dockerd>",
		"containerd-2.3.5/runc-../../bin":        "is not a release number",
	} {
		if c, err := ParseCell(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCell(%q) = %+v, %v; want an error saying %q", in, c, err, want)
		}
	}
	// The same cell written twice, qualifiers in another order, is a duplicate.
	if _, err := ParseCells("dockerd-28.5.2/runc-1.5.1/containerd-2.3.5 dockerd-28.5.2/containerd-2.3.5/runc-1.5.1"); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("ParseCells of one cell in two spellings: %v, want listed twice", err)
	}
}

func TestPairing(t *testing.T) {
	for in, want := range map[string]Pairing{
		// A dockerd runs with its release's containerd and a runc it runs on.
		"dockerd-28.5.2": {Containerd: "2.1.9", Runc: "1.3.6"},
		"dockerd-29.8.1": {Containerd: "2.3.5", Runc: "1.5.1"},
		// A cell pairs differently on purpose, one part at a time.
		"dockerd-28.5.2/containerd-2.3.5": {Containerd: "2.3.5", Runc: "1.3.6"},
		"dockerd-26.1.5/runc-1.3.6":       {Containerd: "1.7.24", Runc: "1.3.6"},
		// 20.10.5 with bullseye's containerd and the machine's runc.
		"dockerd-20.10.5": {Containerd: "1.4.13"},
		// The machine's binaries: 20.10.24, containerd without a runc.
		"dockerd-20.10.24":            {},
		"containerd-2.3.5":            {},
		"containerd-2.3.5/runc-1.3.6": {Runc: "1.3.6"},
	} {
		c, err := ParseCell(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := pairingOf(c); got != want {
			t.Errorf("pairing of %s = %+v, want %+v", in, got, want)
		}
	}
}

func TestCompareCellsQualified(t *testing.T) {
	if CompareCells("containerd-2.3.5", "containerd-2.3.5/runc-1.3.6") >= 0 {
		t.Error("an unqualified cell sorts before its qualified ones")
	}
	if CompareCells("containerd-2.3.5/runc-1.3.6", "containerd-2.10.0") >= 0 {
		t.Error("qualifiers are compared after the version")
	}
}
