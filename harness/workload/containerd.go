package workload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// CRINamespace is the containerd namespace the CRI plugin serves: an image
// imported anywhere else is invisible to pods.
const CRINamespace = "k8s.io"

// EnvCtr names a ctr binary to use instead of the one found next to the
// containerd serving the address (or on PATH).
const EnvCtr = "RELAPSE_CTR"

// LoadContainerd imports img into the containerd at address, in the CRI
// namespace and unpacked for the overlayfs snapshotter so a pod can start it
// without a pull, and checks the image is listed afterwards. It runs the ctr
// that matches the daemon (see CtrFor).
func LoadContainerd(ctx context.Context, address string, img Image) error {
	if img.Tar == "" || img.Ref == "" {
		return fmt.Errorf("load %q into containerd: image has no archive or ref (make it with Build or PackRootfs)", img.Name)
	}
	address = strings.TrimPrefix(address, "unix://")
	// ctr waits 10 s for a socket nobody serves; say so at once instead.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", address)
	if err != nil {
		return fmt.Errorf("load %s into containerd: is it running? %w", img.Ref, err)
	}
	conn.Close()
	if _, err := ctrRun(ctx, address, "images", "import", "--no-unpack=false", "--snapshotter", "overlayfs", img.Tar); err != nil {
		return fmt.Errorf("load %s into containerd %s: %w", img.Ref, address, err)
	}
	out, err := ctrRun(ctx, address, "images", "ls")
	if err != nil {
		return fmt.Errorf("load %s into containerd %s: list: %w", img.Ref, address, err)
	}
	if err := checkListed(out, img); err != nil {
		return fmt.Errorf("load %s into containerd %s: %w", img.Ref, address, err)
	}
	return nil
}

// TagContainerd gives the image ref src a second name dst in the CRI
// namespace (replacing what dst named). A user's containerd config names
// its own sandbox (pause) image; with no registry to pull it from, relapse
// tags its pause image under that name.
func TagContainerd(ctx context.Context, address, src, dst string) error {
	address = strings.TrimPrefix(address, "unix://")
	if _, err := ctrRun(ctx, address, "images", "tag", "--force", src, dst); err != nil {
		return fmt.Errorf("tag %s as %s in containerd %s: %w", src, dst, address, err)
	}
	return nil
}

// ctrRun runs the ctr matching the containerd at address in the CRI
// namespace and returns its standard output; errors carry the command and
// what it printed.
func ctrRun(ctx context.Context, address string, args ...string) (string, error) {
	ctr, err := CtrFor(address)
	if err != nil {
		return "", fmt.Errorf("containerd %s: %w", address, err)
	}
	argv := append([]string{"-a", address, "-n", CRINamespace}, args...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, ctr, argv...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", ctr, strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()+" "+stdout.String()))
	}
	return stdout.String(), nil
}

// checkListed finds img in `ctr images ls` output (REF TYPE DIGEST SIZE
// PLATFORMS LABELS).
func checkListed(out string, img Image) error {
	sc := bufio.NewScanner(strings.NewReader(out))
	var refs []string
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] == "REF" {
			continue
		}
		if f[0] == img.Ref {
			return nil
		}
		refs = append(refs, f[0])
	}
	return fmt.Errorf("imported but not listed in namespace %s (listed: %v)", CRINamespace, refs)
}

// CtrFor finds the ctr to drive the containerd listening on address: $RELAPSE_CTR
// if set, else the ctr beside the serving daemon's binary (a containerd built
// for a version matrix ships its own ctr), else ctr on PATH.
func CtrFor(address string) (string, error) {
	if p := os.Getenv(EnvCtr); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvCtr, p, err)
		}
		return p, nil
	}
	if exe, err := listenerExe(address); err == nil {
		p := filepath.Join(filepath.Dir(exe), "ctr")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("ctr")
	if err != nil {
		return "", fmt.Errorf("no ctr beside the containerd serving %s nor on PATH: install containerd (scripts/install-deps.sh) or set %s", address, EnvCtr)
	}
	return p, nil
}

// listenerExe is the executable of the process listening on the unix socket
// path: /proc/net/unix gives the socket's inode, a /proc/<pid>/fd link names
// its holder.
func listenerExe(path string) (string, error) {
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return "", err
	}
	var inode string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// Num RefCount Protocol Flags Type St Inode Path; St 01 = listening.
		if len(f) >= 8 && f[7] == path && f[5] == "01" {
			inode = f[6]
			break
		}
	}
	if inode == "" {
		return "", fmt.Errorf("nothing listens on %s", path)
	}
	want := "socket:[" + inode + "]"
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return "", err
	}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && l == want {
				return os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
			}
		}
	}
	return "", fmt.Errorf("no process holds %s: %w", want, fs.ErrNotExist)
}
