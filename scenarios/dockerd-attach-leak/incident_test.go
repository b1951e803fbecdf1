package dockerdattachleak

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relapse-dev/relapse/harness/curve"
	"github.com/relapse-dev/relapse/harness/incident"
	"github.com/relapse-dev/relapse/harness/incident/incidenttest"
)

func TestIncidentIsWellFormed(t *testing.T) {
	cat, err := incident.NewCatalog(Incident())
	if err != nil {
		t.Fatal(err)
	}
	in := cat[0]
	want := map[string]struct {
		expect  curve.Verdict
		version string
	}{"vulnerable": {curve.Breach, "26.1.5"}, "fixed": {curve.Hold, "28.5.2"}, "reconnect-loop": {curve.Breach, ""}}
	if len(in.Variants) != len(want) {
		t.Fatalf("variants %d, want %d", len(in.Variants), len(want))
	}
	for _, v := range in.Variants {
		if w := want[v.Name]; v.Expect != w.expect || v.Sandbox.Version != w.version {
			t.Errorf("%s: expect %s on %s, want %s on %s", v.Name, v.Expect, v.Sandbox.Version, w.expect, w.version)
		}
		if !v.RunToEnd {
			t.Errorf("%s stops early: the settle tells kept attaches from closing ones", v.Name)
		}
	}
	if reg, ok := in.Variant(in.Regression); !ok || reg.Expect != curve.Hold {
		t.Errorf("regression variant %q must exist and hold", in.Regression)
	}
}

// TestReconnectLoopExpectsTheFix: the unpinned variant (TestIncidentIsWellFormed
// checks it pins nothing) expects the breach on every dockerd before 27.0.1
// and a hold from it on.
func TestReconnectLoopExpectsTheFix(t *testing.T) {
	incidenttest.ExpectOn(t, Incident(), "reconnect-loop", map[string]curve.Verdict{"20.10.5": curve.Breach, "20.10.24": curve.Breach,
		"26.1.5": curve.Breach, "27.0.0": curve.Breach, "27.0.1": curve.Hold, "28.5.2": curve.Hold, "29.8.1": curve.Hold})
}

// TestCensusTellsPeerlessConnections: a server-side connection whose
// client has closed is counted apart from one whose client is still there.
func TestCensusTellsPeerlessConnections(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accept := func() (client, server net.Conn) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	before, err := takeCensus(context.Background(), os.Getpid())
	if err != nil {
		t.Skipf("no census here: %v", err)
	}
	gone, kept := accept()
	defer kept.Close()
	gone.Close() // the client leaves; the server side stays open
	alive, served := accept()
	defer alive.Close()
	defer served.Close()

	after, err := takeCensus(context.Background(), os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// This process holds both ends of the live pair (2 with a live peer)
	// and the server end of the closed one (1 whose peer is gone).
	if d := after.peerless - before.peerless; d != 1 {
		t.Errorf("peerless %+d, want +1\n%s", d, after)
	}
	if d := after.peered - before.peered; d != 2 {
		t.Errorf("with a live peer %+d, want +2\n%s", d, after)
	}
	if !strings.Contains(after.String(), "socket") {
		t.Errorf("census without sockets:\n%s", after)
	}
}
