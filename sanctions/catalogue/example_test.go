package catalogue_test

import (
	"fmt"

	"github.com/creditx/creditx/sanctions/catalogue"
)

// An executing agency's procurement check asks which measures restrict
// procurement, and a notice generator asks for a programme's deadlines.
func Example() {
	cat, err := catalogue.Default()
	if err != nil {
		panic(err)
	}
	fmt.Println(cat.Version(), len(cat.Digest()))
	for _, m := range cat.MeasuresForAction("procurement") {
		fmt.Println(m.Code, m.Domain, m.Force)
	}
	p, _ := cat.Programme("ZJ-ENV-SEVERE")
	fmt.Println(p.LeadMember, p.PublicityMonths, p.Repair.MinMonths, p.FeedbackWorkdays, p.Objection.DecideExtended)
	// Output:
	// 2026.2 64
	// ENV-03 environment mandatory
	// FD-06 food_drug mandatory
	// TOUR-02 tourism mandatory
	// PQ-06 product_quality mandatory
	// 330000 60 12 10 20
}
