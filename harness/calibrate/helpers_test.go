package calibrate

import (
	"math/rand/v2"
	"strings"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
