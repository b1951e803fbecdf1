package workload

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// annotationImageName is containerd's annotation naming an image in an OCI
// index; `ctr images import` names the image after it.
const annotationImageName = "io.containerd.image.name"

// epoch is every timestamp in an archive, so the same inputs give the same
// bytes (and the same image ID) on every machine.
var epoch = time.Unix(0, 0).UTC()

// layerSource is the one layer of an image: an uncompressed tar stream that
// can be opened more than once, with its sha256 digest (also its diff_id) and
// size known in advance.
type layerSource struct {
	open   func() (io.ReadCloser, error)
	digest digest.Digest
	size   int64
}

// writeArchive writes one image as a tar that is at the same time a
// docker-archive (manifest.json: `docker load`, dockerd 20.10 and later) and
// an OCI image layout (oci-layout + index.json: `ctr images import`). Both
// views share the blobs under blobs/sha256. It returns the image ID, the
// config's digest, which is what dockerd reports as the image's Id.
func writeArchive(dst, ref string, cfg ImageConfig, layer layerSource) (digest.Digest, error) {
	created := epoch
	config := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: goruntime.GOARCH, OS: "linux"},
		Config: ocispec.ImageConfig{
			Entrypoint: cfg.Entrypoint,
			Cmd:        cfg.Cmd,
			Env:        cfg.Env,
			WorkingDir: cfg.WorkingDir,
		},
		RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.digest}},
		History: []ocispec.History{{Created: &created, CreatedBy: "relapse harness/workload"}},
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return "", fmt.Errorf("image config: %w", err)
	}
	configDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(configJSON), Size: int64(len(configJSON))}
	layerDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: layer.digest, Size: layer.size}

	manifestJSON, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	})
	if err != nil {
		return "", fmt.Errorf("image manifest: %w", err)
	}
	manifestDesc := ocispec.Descriptor{
		MediaType:   ocispec.MediaTypeImageManifest,
		Digest:      digest.FromBytes(manifestJSON),
		Size:        int64(len(manifestJSON)),
		Platform:    &config.Platform,
		Annotations: map[string]string{annotationImageName: ref},
	}
	indexJSON, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{manifestDesc},
	})
	if err != nil {
		return "", fmt.Errorf("image index: %w", err)
	}
	dockerJSON, err := json.Marshal([]dockerManifest{{
		Config:   blobPath(configDesc.Digest),
		RepoTags: []string{ref},
		Layers:   []string{blobPath(layer.digest)},
	}})
	if err != nil {
		return "", fmt.Errorf("docker manifest: %w", err)
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return "", fmt.Errorf("oci-layout: %w", err)
	}

	// Regular files in name order; the layer is streamed, the rest is small.
	type entry struct {
		name string
		data []byte
	}
	files := []entry{
		{blobPath(configDesc.Digest), configJSON},
		{blobPath(layer.digest), nil},
		{blobPath(manifestDesc.Digest), manifestJSON},
		{ocispec.ImageIndexFile, indexJSON},
		{"manifest.json", dockerJSON},
		{ocispec.ImageLayoutFile, layoutJSON},
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })

	err = writeFileAtomic(dst, func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for _, dir := range []string{"blobs/", "blobs/sha256/"} {
			if err := tw.WriteHeader(dirHeader(dir)); err != nil {
				return err
			}
		}
		for _, f := range files {
			if f.data != nil {
				if err := tw.WriteHeader(fileHeader(f.name, int64(len(f.data)), 0o644)); err != nil {
					return err
				}
				if _, err := tw.Write(f.data); err != nil {
					return err
				}
				continue
			}
			if err := copyLayer(tw, f.name, layer); err != nil {
				return err
			}
		}
		return tw.Close()
	})
	if err != nil {
		return "", fmt.Errorf("image archive %s: %w", dst, err)
	}
	return configDesc.Digest, nil
}

// copyLayer streams the layer into the archive and checks it is what its
// digest promised: a source that changed underneath would otherwise give an
// archive both daemons reject with a far less clear error.
func copyLayer(tw *tar.Writer, name string, layer layerSource) error {
	rc, err := layer.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(fileHeader(name, layer.size, 0o644)); err != nil {
		return err
	}
	v := layer.digest.Verifier()
	n, err := io.Copy(tw, io.TeeReader(rc, v))
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	if n != layer.size || !v.Verified() {
		return fmt.Errorf("layer changed while packing (%d bytes, want %d with digest %s)", n, layer.size, layer.digest)
	}
	return nil
}

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func blobPath(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

func fileHeader(name string, size int64, mode int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: mode, ModTime: epoch}
}

func dirHeader(name string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch}
}

// singleFileLayer is a layer tar holding one executable at /<name>: all a
// FROM scratch image of a static binary has.
func singleFileLayer(name string, data []byte) (layerSource, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(fileHeader(name, int64(len(data)), 0o755)); err != nil {
		return layerSource{}, err
	}
	if _, err := tw.Write(data); err != nil {
		return layerSource{}, err
	}
	if err := tw.Close(); err != nil {
		return layerSource{}, err
	}
	b := buf.Bytes()
	return layerSource{
		open:   func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		digest: digest.FromBytes(b),
		size:   int64(len(b)),
	}, nil
}

// readArchiveID reads the image ID (config digest) and reference from an
// archive written by writeArchive, checking that the blobs manifest.json names
// are present. It is how a cached archive is trusted without rebuilding.
func readArchiveID(p string) (id digest.Digest, ref string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	names := map[string]bool{}
	var manifest []dockerManifest
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", p, err)
		}
		names[h.Name] = true
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				return "", "", fmt.Errorf("%s: manifest.json: %w", p, err)
			}
		}
	}
	if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || len(manifest[0].Layers) == 0 {
		return "", "", fmt.Errorf("%s: want one image with one tag in manifest.json, got %+v", p, manifest)
	}
	m := manifest[0]
	for _, n := range append([]string{m.Config, ocispec.ImageIndexFile, ocispec.ImageLayoutFile}, m.Layers...) {
		if !names[n] {
			return "", "", fmt.Errorf("%s: %s missing", p, n)
		}
	}
	id = digest.Digest(strings.Replace(strings.TrimPrefix(m.Config, "blobs/"), "/", ":", 1))
	if err := id.Validate(); err != nil {
		return "", "", fmt.Errorf("%s: config %s: %w", p, m.Config, err)
	}
	return id, m.RepoTags[0], nil
}

// readArchiveTargets returns what an image store that keeps OCI content
// (containerd's, dockerd's containerd image store) can name the archive's
// image by: the digest of each manifest its index.json lists, and of
// index.json itself.
func readArchiveTargets(p string) ([]digest.Digest, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no %s", p, ocispec.ImageIndexFile)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if h.Name != ocispec.ImageIndexFile {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", p, h.Name, err)
		}
		var index ocispec.Index
		if err := json.Unmarshal(data, &index); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", p, h.Name, err)
		}
		targets := []digest.Digest{digest.FromBytes(data)}
		for _, m := range index.Manifests {
			targets = append(targets, m.Digest)
		}
		return targets, nil
	}
}

// writeFileAtomic writes dst through a temp file in the same directory and
// renames it into place, so a concurrent reader or a killed build never sees
// half an archive.
func writeFileAtomic(dst string, write func(io.Writer) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := dst + ".tmp-" + hex.EncodeToString(b[:])
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
