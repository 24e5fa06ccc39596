package matching

import (
	"fmt"
	"strings"
	"testing"

	"github.com/creditx/creditx/api"
	"github.com/creditx/creditx/schemas"
)

func TestHash(t *testing.T) {
	var key schemas.MatchKey
	key[0] = 1
	purpose := func(p, why string) *api.ErrorBody {
		if p != "P1" {
			return &api.ErrorBody{Status: 400, Error: "unknown purpose " + p}
		}
		return nil
	}
	req, out, aerr := Hash(strings.NewReader(`{"ids":["11010519491231002X","440307200002290013"],"purpose":"P1"}`), key, purpose)
	if aerr != nil || len(req.IDs) != 2 || out.Hashes[0] != key.HashID("11010519491231002X") || out.Hashes[1] != key.HashID("440307200002290013") {
		t.Fatalf("got %+v %+v %v", req, out, aerr)
	}
	many := `{"ids":[` + strings.Repeat(`"11010519491231002X",`, MaxIDs) + `"11010519491231002X"],"purpose":"P1"}`
	for _, tc := range []struct{ body, field string }{
		{`{"ids":["11010519491231002X"],"purpose":"P1","x":1}`, ""},
		{`{"ids":[],"purpose":"P1"}`, "ids"},
		{many, "ids"},
		{`{"ids":["11010519491231002X"],"purpose":"P2"}`, "purpose"},
		{`{"ids":["11010519491231002X","123"],"purpose":"P1"}`, "ids"},
	} {
		_, out, aerr := Hash(strings.NewReader(tc.body), key, purpose)
		if aerr == nil || aerr.Status != 400 || out.Hashes != nil {
			t.Errorf("%.60s: %v, %v", tc.body, aerr, out)
			continue
		}
		if tc.field != "" && (len(aerr.Errors) != 1 || aerr.Errors[0].Field != tc.field) {
			t.Errorf("%.60s: errors %s", tc.body, fmt.Sprint(aerr.Errors))
		}
	}
}
