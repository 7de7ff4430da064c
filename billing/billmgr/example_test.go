package billmgr_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ispkit/ispkit/billing/billmgr"
)

type dciModule struct {
	billmgr.UnimplementedHandler
}

func (dciModule) Features(context.Context) (*billmgr.Features, error) {
	return &billmgr.Features{
		ItemTypes: []billmgr.ItemType{{Name: "dedic"}},
		Params:    []billmgr.Param{{Name: "url"}, {Name: "username"}, {Name: "password", Crypted: true}},
		Features:  billmgr.FeatureList(billmgr.CmdOpen, billmgr.CmdClose),
	}, nil
}

func (dciModule) Open(_ context.Context, req *billmgr.Request) error {
	// Allocate the server, then report back with mgrctl service.postopen.
	fmt.Fprintf(os.Stderr, "opening item %d\n", req.Args.Item)
	return nil
}

func ExampleRun() {
	code := billmgr.Run(context.Background(), []string{"--command", "features"}, os.Stdout, dciModule{})
	fmt.Println()
	fmt.Println("exit", code)
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <doc><itemtypes><itemtype name="dedic"></itemtype></itemtypes><params><param name="url"></param><param name="username"></param><param name="password" crypted="yes"></param></params><features><feature name="open"></feature><feature name="close"></feature></features></doc>
	// exit 0
}

func ExampleParseArgs() {
	a, err := billmgr.ParseArgs([]string{"--command", "open", "--item", "117", "--runningoperation", "42", "--lang", "en"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Command, a.Item, a.RunningOperation, a.Lang)

	_, err = billmgr.ParseArgs([]string{"--command", "open"})
	fmt.Println(err)
	// Output:
	// open 117 42 en
	// billmgr: --item: required by command open
}
