package boltcorrupt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The fixture is a small dockerd-like local-kv.db written by real bbolt: a
// "libnetwork" bucket with three networks, one of them with enough
// endpoints (values ~300 bytes) to need a root branch page over many leaves;
// a containerd-like nested bucket v1/default/containers; and a small bucket
// that bbolt keeps inline.

// fixtureNetwork is one libnetwork network with its endpoint count.
type fixtureNetwork struct {
	name      string
	endpoints int
}

var fixtureNetworks = []fixtureNetwork{{"bridge", 3}, {"appnet", 300}, {"backend", 40}}

// kv is one key/value pair of the fixture.
type kv struct {
	key, value []byte
}

// fixtureBucket is one bucket of the fixture and its pairs in key order.
type fixtureBucket struct {
	path  []string
	pairs []kv
}

// fixtureID is a deterministic 64-hex-digit id, like dockerd's.
func fixtureID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// fixtureValue is a deterministic value of about 300 bytes for key.
func fixtureValue(key string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"key":%q,"pad":"`, key)
	for b.Len() < 290 {
		b.WriteString(fixtureID(key + fmt.Sprint(b.Len()))[:16])
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// networkPrefix is libnetwork's endpoint listing prefix for network name.
func networkPrefix(name string) string {
	return DefaultPrefix + fixtureID(name) + "/"
}

// fixtureBuckets returns every bucket holding key/value pairs, pairs sorted.
func fixtureBuckets() []fixtureBucket {
	var ln []kv
	add := func(key string) { ln = append(ln, kv{[]byte(key), fixtureValue(key)}) }
	for _, n := range fixtureNetworks {
		nid := fixtureID(n.name)
		add("docker/network/v1.0/network/" + nid + "/")
		add("docker/network/v1.0/endpoint_count/" + nid + "/")
		for i := 0; i < n.endpoints; i++ {
			add(networkPrefix(n.name) + fixtureID(fmt.Sprintf("%s-ep-%d", n.name, i)) + "/")
		}
	}
	var ctrs []kv
	for i := 0; i < 120; i++ {
		key := fmt.Sprintf("container-%04d", i)
		ctrs = append(ctrs, kv{[]byte(key), fixtureValue(key)})
	}
	small := []kv{{[]byte("a"), []byte("1")}, {[]byte("b"), []byte("2")}}
	out := []fixtureBucket{
		{path: []string{"libnetwork"}, pairs: ln},
		{path: []string{"v1", "default", "containers"}, pairs: ctrs},
		{path: []string{"small"}, pairs: small},
	}
	for _, b := range out {
		slices.SortFunc(b.pairs, func(x, y kv) int { return bytes.Compare(x.key, y.key) })
	}
	return out
}

// prefixCount counts the libnetwork pairs whose key starts with prefix.
func prefixCount(prefix string) int {
	n := 0
	for _, p := range fixtureBuckets()[0].pairs {
		if strings.HasPrefix(string(p.key), prefix) {
			n++
		}
	}
	return n
}

// writeFixture writes the fixture with bbolt into a new file under t's temp
// dir, in several transactions as a daemon would, and returns its path.
func writeFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "local-kv.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("create fixture: %v", err)
	}
	defer db.Close()
	for _, fb := range fixtureBuckets() {
		for start := 0; start < len(fb.pairs); start += 50 {
			err := db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte(fb.path[0]))
				if err != nil {
					return err
				}
				for _, name := range fb.path[1:] {
					if b, err = b.CreateBucketIfNotExists([]byte(name)); err != nil {
						return err
					}
				}
				for _, p := range fb.pairs[start:min(start+50, len(fb.pairs))] {
					if err := b.Put(p.key, p.value); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("fill fixture bucket %v: %v", fb.path, err)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close fixture: %v", err)
	}
	return path
}

// copyFile copies src to a new file in t's temp dir.
func copyFile(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}
