package incident

import "fmt"

// Guest says whether a variant runs in the qemu guests (scripts/guest.sh:
// other kernels, cgroup v2) and in which of their selections. It is data
// so the guest targets select from the plan (`relapse run -label guest`)
// instead of naming incidents where they run.
type Guest string

const (
	// NotInGuest leaves the variant to the host's runs.
	NotInGuest Guest = ""
	// InGuest puts the variant in the full guest runs (`make guest`): its
	// verdict is the one to prove on another kernel or cgroup mode.
	InGuest Guest = "guest"
	// GuestCheck puts the variant in the full guest runs and in the short
	// guest check `make test` runs: it must be quick under emulation and
	// its budgets must not depend on the machine's speed.
	GuestCheck Guest = "guest-check"
)

// Labels are the selection labels the marker gives a plan item: "guest"
// for every guest variant, and "guest-check" as well for the short check.
func (g Guest) Labels() []string {
	switch g {
	case InGuest:
		return []string{string(InGuest)}
	case GuestCheck:
		return []string{string(InGuest), string(GuestCheck)}
	}
	return nil
}

func (g Guest) validate() error {
	switch g {
	case NotInGuest, InGuest, GuestCheck:
		return nil
	}
	return fmt.Errorf("Guest %q: want %q, %q or empty", string(g), InGuest, GuestCheck)
}

// In is v marked for the guest selection g, for variants built by a helper.
func (v Variant) In(g Guest) Variant {
	v.Guest = g
	return v
}
