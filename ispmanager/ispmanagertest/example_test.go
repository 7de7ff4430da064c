package ispmanagertest_test

import (
	"context"
	"fmt"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// Diagnostics refuse a reseller: the access level answered at log-in is
// below an administrator's.
func ExampleServer_AddReseller() {
	srv := ispmanagertest.NewServer()
	defer srv.Close()
	srv.AddReseller("res1", "Res1-secret-pw")
	c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials("res1", "Res1-secret-pw"))
	if err != nil {
		panic(err)
	}
	lvl, err := c.AccessLevel(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(lvl < ispmanager.LevelAdmin)
	// Output: true
}
