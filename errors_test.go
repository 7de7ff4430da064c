package ispkit_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ispkit/ispkit"
)

func TestArgumentErrorMessageAndMatching(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  *ispkit.ArgumentError
		want string
	}{
		{&ispkit.ArgumentError{Package: "dcimanager5", Op: "WithTimeout", Arg: "timeout", Reason: "must be positive"},
			"dcimanager5: WithTimeout: invalid timeout: must be positive"},
		{&ispkit.ArgumentError{Arg: "name"}, "invalid name"},
		{&ispkit.ArgumentError{}, "invalid argument"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
		wrapped := fmt.Errorf("outer: %w", c.err)
		if !ispkit.IsInvalidArgument(wrapped) || !errors.Is(wrapped, ispkit.ErrInvalidArgument) {
			t.Errorf("%v does not match ErrInvalidArgument", wrapped)
		}
		var ae *ispkit.ArgumentError
		if !errors.As(wrapped, &ae) || ae != c.err {
			t.Errorf("errors.As did not recover the *ArgumentError")
		}
	}
	if ispkit.IsInvalidArgument(errors.New("other")) {
		t.Error("a plain error matched ErrInvalidArgument")
	}
}

func ExampleArgumentError() {
	err := fmt.Errorf("open: %w", &ispkit.ArgumentError{Package: "provision", Op: "Submit", Arg: "OpenRequest.TariffID", Reason: "required"})
	var ae *ispkit.ArgumentError
	if errors.As(err, &ae) {
		fmt.Println(ae.Arg, "-", ae.Reason)
	}
	// Output: OpenRequest.TariffID - required
}
