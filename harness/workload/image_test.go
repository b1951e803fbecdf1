package workload

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// readTar returns every regular file of an archive by name.
func readTar(t *testing.T, p string) map[string][]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: %s: mtime %v uid %d gid %d, want epoch and root", p, h.Name, h.ModTime, h.Uid, h.Gid)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name] = b
		}
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

// checkArchive verifies both views of an archive (docker-archive and OCI
// layout) agree and every digest matches its content; it returns the config.
func checkArchive(t *testing.T, img Image) ocispec.Image {
	t.Helper()
	files := readTar(t, img.Tar)
	for name, b := range files {
		if strings.HasPrefix(name, "blobs/sha256/") {
			if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != strings.TrimPrefix(name, "blobs/sha256/") {
				t.Errorf("%s: content digest %s", name, got)
			}
		}
	}
	var dm []dockerManifest
	mustJSON(t, files["manifest.json"], &dm)
	if len(dm) != 1 || len(dm[0].RepoTags) != 1 || dm[0].RepoTags[0] != img.Ref {
		t.Fatalf("manifest.json %+v: want one image tagged %s", dm, img.Ref)
	}
	if dm[0].Config != blobPath(digest.Digest(img.ID)) {
		t.Errorf("manifest.json config %s, image ID %s", dm[0].Config, img.ID)
	}
	var layout ocispec.ImageLayout
	mustJSON(t, files["oci-layout"], &layout)
	if layout.Version != ocispec.ImageLayoutVersion {
		t.Errorf("oci-layout version %q", layout.Version)
	}
	var idx ocispec.Index
	mustJSON(t, files["index.json"], &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Annotations[annotationImageName] != img.Ref {
		t.Fatalf("index.json %s: want one manifest named %s", files["index.json"], img.Ref)
	}
	var m ocispec.Manifest
	mustJSON(t, files[blobPath(idx.Manifests[0].Digest)], &m)
	if m.Config.Digest.String() != img.ID || len(m.Layers) != 1 || blobPath(m.Layers[0].Digest) != dm[0].Layers[0] {
		t.Errorf("OCI manifest %+v disagrees with manifest.json %+v", m, dm[0])
	}
	var cfg ocispec.Image
	mustJSON(t, files[blobPath(m.Config.Digest)], &cfg)
	if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != m.Layers[0].Digest {
		t.Errorf("diff_ids %v, layer %s: an uncompressed layer's diff_id is its digest", cfg.RootFS.DiffIDs, m.Layers[0].Digest)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	return cfg
}

type layerFile struct {
	hdr  *tar.Header
	data []byte
}

func layerFiles(t *testing.T, img Image) map[string]layerFile {
	t.Helper()
	files := readTar(t, img.Tar)
	var dm []dockerManifest
	mustJSON(t, files["manifest.json"], &dm)
	tr := tar.NewReader(bytes.NewReader(files[dm[0].Layers[0]]))
	out := map[string]layerFile{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = layerFile{h, data}
	}
}

func TestBuildPacksStaticBinaryAndCaches(t *testing.T) {
	ctx := context.Background()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()

	start := time.Now()
	img, err := Build(ctx, root, cache, "pause")
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	if img.Cached || img.Ref != "relapse.local/pause:latest" || !strings.HasPrefix(img.Tar, cache) {
		t.Fatalf("first build: %+v", img)
	}
	cfg := checkArchive(t, img)
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/pause" {
		t.Errorf("entrypoint %q, want [/pause]", cfg.Config.Entrypoint)
	}
	lf := layerFiles(t, img)
	bin, ok := lf["pause"]
	if !ok || bin.hdr.Mode&0o111 == 0 || len(lf) != 1 {
		t.Fatalf("layer has %d files: want one executable /pause", len(lf))
	}
	// FROM scratch has no dynamic loader: the binary must be static.
	ef, err := elf.NewFile(bytes.NewReader(bin.data))
	if err != nil {
		t.Fatalf("/pause is not an ELF binary: %v", err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/pause asks for a dynamic loader (PT_INTERP): not static")
		}
	}
	before, err := os.ReadFile(img.Tar)
	if err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	again, err := Build(ctx, root, cache, "pause")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pause: cold build %v, cached %v, archive %d bytes", cold, time.Since(start), len(before))
	if !again.Cached || again.Tar != img.Tar || again.ID != img.ID {
		t.Fatalf("second build %+v, want the cached %+v", again, img)
	}

	// A damaged cache entry is rebuilt, byte for byte the same.
	if err := os.WriteFile(img.Tar, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := Build(ctx, root, cache, "pause")
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(rebuilt.Tar)
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Cached || !bytes.Equal(before, after) {
		t.Errorf("rebuild after damage: cached=%v, identical=%v: want a fresh, deterministic archive", rebuilt.Cached, bytes.Equal(before, after))
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"Pause", "lower-case"},
		{"../pause", "lower-case"},
		{"no-such-image", "no directory"},
	} {
		_, err := Build(ctx, root, t.TempDir(), tc.name)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%q): %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := Build(ctx, root, "", "pause"); err == nil || !strings.Contains(err.Error(), "cache dir") {
		t.Errorf("Build with no cache dir: %v", err)
	}
}

func TestPackRootfs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{{"etc/hostname", "x\n"}, {"bin/app", "#!/bin/sh\n"}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "rootfs.tar")
	if err := os.WriteFile(plain, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	gzDir := filepath.Join(dir, "gz")
	if err := os.Mkdir(gzDir, 0o755); err != nil {
		t.Fatal(err)
	}
	gzPath := filepath.Join(gzDir, "rootfs.tar.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := ImageConfig{Entrypoint: []string{"/bin/app"}, Cmd: []string{"-x"}, Env: []string{"PATH=/bin"}, WorkingDir: "/srv"}
	img, err := PackRootfs(ctx, plain, "app", cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := checkArchive(t, img)
	if got.Config.WorkingDir != "/srv" || got.Config.Cmd[0] != "-x" || got.Config.Env[0] != "PATH=/bin" {
		t.Errorf("config %+v", got.Config)
	}
	if lf := layerFiles(t, img); string(lf["etc/hostname"].data) != "x\n" || lf["bin/app"].hdr == nil {
		t.Errorf("layer files %v", lf)
	}
	again, err := PackRootfs(ctx, plain, "app", cfg)
	if err != nil || !again.Cached || again.ID != img.ID {
		t.Errorf("repack: %+v %v, want cached %s", again, err, img.ID)
	}
	fromGz, err := PackRootfs(ctx, gzPath, "app", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fromGz.Cached || fromGz.ID != img.ID {
		t.Errorf("gzip rootfs: %+v, want the same image ID %s as the plain tar", fromGz, img.ID)
	}
	cfg.Cmd = []string{"-y"}
	changed, err := PackRootfs(ctx, plain, "app", cfg)
	if err != nil || changed.Cached || changed.ID == img.ID {
		t.Errorf("changed config: %+v %v, want a new image", changed, err)
	}

	notTar := filepath.Join(dir, "junk")
	os.WriteFile(notTar, bytes.Repeat([]byte("x"), 1024), 0o644)
	if _, err := PackRootfs(ctx, notTar, "app", cfg); err == nil || !strings.Contains(err.Error(), "not a tar") {
		t.Errorf("non-tar rootfs: %v", err)
	}
	if _, err := PackRootfs(ctx, plain, "app", ImageConfig{}); err == nil || !strings.Contains(err.Error(), "nothing to run") {
		t.Errorf("empty config: %v", err)
	}
}
