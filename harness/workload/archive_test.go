package workload

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A containerd image store names the image by the manifest (or index) the
// archive's index.json names; that manifest must be the image whose config
// is the archive's ID, so accepting a target proves the same image loaded.
func TestReadArchiveTargets(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs.tar")
	f, err := os.Create(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "bin/app", Mode: 0o755, Size: 3, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("#!\n"))
	tw.Close()
	f.Close()
	img, err := PackRootfs(t.Context(), rootfs, "app", ImageConfig{Entrypoint: []string{"/bin/app"}})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := readArchiveTargets(img.Tar)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 {
		t.Fatalf("targets %v, want the index and its one manifest", targets)
	}
	blobs := map[string][]byte{}
	a, err := os.Open(img.Tar)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for tr := tar.NewReader(a); ; {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(h.Name, "blobs/") && h.Size < 1<<20 {
			blobs[h.Name], _ = io.ReadAll(tr)
		}
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(blobs[blobPath(targets[1])], &m); err != nil {
		t.Fatalf("manifest target %s is not a manifest blob in the archive: %v", targets[1], err)
	}
	if string(m.Config.Digest) != img.ID {
		t.Errorf("manifest target's config %s, want the archive's ID %s", m.Config.Digest, img.ID)
	}
	if _, err := readArchiveTargets(rootfs); err == nil || !strings.Contains(err.Error(), "no index.json") {
		t.Errorf("a tar without index.json: %v", err)
	}
}
