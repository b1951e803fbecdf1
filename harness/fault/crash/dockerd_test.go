package crash

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/relapse-dev/relapse/harness/fault/boltcorrupt"
	"github.com/relapse-dev/relapse/harness/runtime"
	"github.com/relapse-dev/relapse/harness/workload"
)

// TestPopulatePowerLossRestart runs the whole power-loss sequence on a real
// dockerd: a sandbox's dockerd is never in the harness' network namespace; in a NetNS it
// makes networks whose endpoints land in local-kv.db and no host
// interface; PowerLoss kills both daemons and the store can be damaged; a
// restart without damage keeps every network, one after meta-wrong-root
// loses them all.
func TestPopulatePowerLossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real dockerd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := workload.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := runtime.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	img, err := workload.Build(ctx, root, cache, "pause")
	if err != nil {
		t.Fatal(err)
	}
	hostLinks := linkNames(t)

	sb, err := runtime.NewDockerd(runtime.DockerdOptions{Logf: t.Logf,
		Config: runtime.DockerdConfig{Overlay: map[string]any{"ip-forward": false}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sb.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cli, err := sb.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := workload.LoadDocker(ctx, cli, img); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	spec := Spec{Networks: 2, RunningPerNetwork: 2, Stopped: 1, Image: img.Ref}
	// Every dockerd sandbox has a network namespace of its own: Populate's
	// refusal of the harness' namespace cannot be met through a sandbox.
	if err := checkPrivateNetNS(sb.PID()); err != nil {
		t.Fatalf("a dockerd sandbox started plainly: %v, want it in a private network namespace", err)
	}

	ns, err := NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sb.Stop(context.Background())
		ns.Close()
	})
	if err := sb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var startErr error
	if err := ns.Do(func() { startErr = sb.Start(ctx) }); err != nil || startErr != nil {
		t.Fatalf("start in the namespace: %v %v", err, startErr)
	}
	if got, err := NetNSInode(sb.PID()); err != nil || got != ns.Inode() {
		t.Fatalf("dockerd's namespace %d (%v), want %d", got, err, ns.Inode())
	}
	pop, err := Populate(ctx, sb, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(pop.Networks) != 2 || len(pop.Running) != 4 || len(pop.Stopped) != 1 ||
		slices.Contains(pop.Running, "") || slices.Contains(pop.Stopped, "") {
		t.Fatalf("population %+v", pop)
	}
	if got := linkNames(t); !slices.Equal(got, hostLinks) {
		t.Errorf("host interfaces changed: %v -> %v", hostLinks, got)
	}
	dataRoot, err := DataRoot(sb)
	if err != nil {
		t.Fatal(err)
	}
	// 2 networks, 4 endpoints, their bridge and IPAM records, ...
	if rep, err := boltcorrupt.Inspect(LocalKV(dataRoot)); err != nil {
		t.Fatal(err)
	} else if b, ok := rep.Bucket(boltcorrupt.DefaultBucket); !ok || b.Keys < 10 || len(b.BranchPages) == 0 {
		t.Errorf("local-kv.db libnetwork bucket %+v: want >= 10 keys below a branch page\n%s", b, rep)
	}

	dpid, cpid := sb.PID(), sb.ContainerdPID()
	var damagedWhile []int
	loss, err := PowerLoss(ctx, sb, func(dr string) (string, error) {
		for _, pid := range []int{dpid, cpid} {
			if _, alive := procState(pid); alive {
				damagedWhile = append(damagedWhile, pid)
			}
		}
		return "nothing", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if loss.DockerdPID != dpid || loss.ContainerdPID != cpid || loss.Damage != "nothing" {
		t.Errorf("loss %+v, want dockerd %d containerd %d", loss, dpid, cpid)
	}
	if len(damagedWhile) > 0 {
		t.Errorf("damage ran while %v still existed", damagedWhile)
	}

	boot := StartBoot(ns, sb, time.Minute)
	<-boot.Done()
	if took, err := boot.Result(); err != nil {
		t.Fatalf("restart after an undamaged power loss: %v", err)
	} else {
		t.Logf("undamaged restart ready in %s", took)
	}
	if lost, err := NetworksLost(ctx, sb, pop); err != nil || len(lost) != 0 {
		t.Errorf("after an undamaged power loss: lost %v (%v)", lost, err)
	}

	if _, err := PowerLoss(ctx, sb, Bolt(boltcorrupt.MetaWrongRoot(), LocalKV)); err != nil {
		t.Fatal(err)
	}
	boot = StartBoot(ns, sb, time.Minute)
	<-boot.Done()
	if _, err := boot.Result(); err != nil {
		t.Fatalf("restart after meta-wrong-root: %v", err)
	}
	lost, err := NetworksLost(ctx, sb, pop)
	if err != nil {
		t.Fatal(err)
	}
	if want := pop.NetworkNames(); !slices.Equal(lost, want) {
		t.Errorf("after meta-wrong-root lost %v, want %v", lost, want)
	}
	if err := boot.Abort(ctx); err != nil {
		t.Error(err)
	}
}

func linkNames(t *testing.T) []string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	slices.Sort(names)
	return names
}
