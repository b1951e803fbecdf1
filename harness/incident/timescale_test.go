package incident

import (
	"testing"
	"time"
)

func TestTimeScale(t *testing.T) {
	for _, c := range []struct {
		env     string
		want    float64
		wantErr bool
	}{
		{"", 1, false}, {"1", 1, false}, {"12.5", 12.5, false},
		{"0.5", 1, true}, {"101", 1, true}, {"fast", 1, true},
	} {
		t.Setenv(EnvTimeScale, c.env)
		got, err := TimeScale()
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%s=%q: got %v, %v; want %v, error %v", EnvTimeScale, c.env, got, err, c.want, c.wantErr)
		}
	}
	if got := Scale(80*time.Second, 10); got != 800*time.Second {
		t.Errorf("Scale(80s, 10) = %v, want 800s", got)
	}
	if got := Scale(80*time.Second, 0); got != 80*time.Second {
		t.Errorf("Scale(80s, 0) = %v, want 80s unchanged", got)
	}
}
