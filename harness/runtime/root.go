package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// TempBase holds every instance root. It is short on purpose: unix socket
// paths are limited to 108 bytes and containerd nests its sockets.
const TempBase = "/tmp/relapse"

// ownerFile names the file in each root that records the harness process
// that made it, so Sweep can tell an abandoned root from a live one.
const ownerFile = "owner"

// newRoot makes /tmp/relapse/<kind>-<8 hex> and records this process as its
// owner. The random part has a fixed length so that a root's path followed
// by "/" never prefixes another root's.
func newRoot(kind Kind) (string, error) {
	if err := os.MkdirAll(TempBase, 0o755); err != nil {
		return "", fmt.Errorf("instance root: %w", err)
	}
	var b [4]byte
	for range 100 {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("instance root: %w", err)
		}
		root := filepath.Join(TempBase, string(kind)+"-"+hex.EncodeToString(b[:]))
		err := os.Mkdir(root, 0o711)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("instance root: %w", err)
		}
		if err := os.Chmod(root, 0o711); err != nil { // undo the umask
			return "", fmt.Errorf("instance root: %w", err)
		}
		if err := writeOwner(root, os.Getpid()); err != nil {
			_ = os.Remove(root)
			return "", err
		}
		return root, nil
	}
	return "", fmt.Errorf("instance root: no free name under %s after 100 tries", TempBase)
}

// writeOwner records pid and its start time (to survive pid reuse).
func writeOwner(root string, pid int) error {
	start, err := procStartTime(pid)
	if err != nil {
		return fmt.Errorf("instance root %s: owner: %w", root, err)
	}
	data := fmt.Sprintf("%d %d\n", pid, start)
	if err := os.WriteFile(filepath.Join(root, ownerFile), []byte(data), 0o644); err != nil {
		return fmt.Errorf("instance root %s: owner: %w", root, err)
	}
	return nil
}

// ownerAlive reads a root's owner file and says whether that process still
// runs. A root without an owner file is reported as an error: it is not
// relapse's, or it is being created right now.
func ownerAlive(root string) (pid int, alive bool, err error) {
	data, err := os.ReadFile(filepath.Join(root, ownerFile))
	if err != nil {
		return 0, false, err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, false, fmt.Errorf("%s: empty owner file", root)
	}
	pid, err = strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return 0, false, fmt.Errorf("%s: bad owner pid %q", root, fields[0])
	}
	start, err := procStartTime(pid)
	if err != nil {
		return pid, false, nil // no such process
	}
	if len(fields) > 1 {
		want, err := strconv.ParseUint(fields[1], 10, 64)
		if err == nil && want != start {
			return pid, false, nil // the pid was reused
		}
	}
	return pid, true, nil
}

// procStartTime is a process' start time in clock ticks since boot.
func procStartTime(pid int) (uint64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, err
	}
	if st.State == "Z" || st.State == "X" {
		return 0, fmt.Errorf("pid %d is a zombie", pid)
	}
	return st.Starttime, nil
}
