package fabric

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestErrorDetailsShown: the gateway's "see attached details" error carries
// the peers' messages into the error text, still wrapping the original.
func TestErrorDetailsShown(t *testing.T) {
	st, err := status.New(codes.Aborted, "failed to evaluate transaction, see attached details").WithDetails(
		&gateway.ErrorDetail{Address: "127.0.0.1:7051", MspId: "Org1MSP", Message: "chaincode creditx-anchor: connection refused"})
	if err != nil {
		t.Fatal(err)
	}
	base := st.Err()
	e := fmt.Errorf("fabric: latest 330000: %w%s", base, details(base))
	if !strings.Contains(e.Error(), "peer 127.0.0.1:7051 (Org1MSP): chaincode creditx-anchor: connection refused") || !errors.Is(e, base) {
		t.Errorf("%v", e)
	}
	if d := details(errors.New("plain")); d != "" {
		t.Errorf("details of a plain error: %q", d)
	}
}
