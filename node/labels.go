package node

import (
	"github.com/creditx/creditx/schemas"
	"html/template"
)

// Chinese labels for the codes the pages show (issue 18: clerks read
// Chinese). A code without a label is shown as the code itself, so a new
// domain or state added to the schemas still renders.

var domainLabels = map[string]string{
	"environment":     "生态环境",
	"tourism":         "文化和旅游",
	"food_drug":       "食品药品",
	"product_quality": "产品质量",
	"tax":             "税务",
	"work_safety":     "安全生产",
}

var stateLabels = map[string]string{
	StateActive:             "公示中",
	StateSuspended:          "异议中·暂停公示",
	StateRemoved:            "已移出",
	StateWithdrawn:          "已撤销",
	StateExpired:            "公示期满",
	"not_yet_listed":        "尚未列入",
	"unknown":               "状态未知",
	"pending":               "待反馈",
	"answered":              "已反馈",
	"overdue":               "逾期未反馈",
	"lifted":                "已解除",
	"upheld":                "异议成立",
	"partial":               "部分成立",
	"rejected":              "异议不成立",
	"listed":                "在列",
	"not_listed":            "不在列",
	"mark":                  "标注异议",
	"correct_or_forward":    "更正或转办",
	"provider_answer":       "提供单位答复",
	"decide":                "作出决定",
	"decide_extended":       "延期作出决定",
	"fact_error":            "事实错误",
	"omission":              "信息遗漏",
	"over_period":           "超过公示期",
	"wrong_listing":         "不应列入",
	"not_removed":           "应移出未移出",
	"privacy":               "侵犯个人隐私",
	"enterprise":            "企业",
	"natural_person":        "自然人",
	"social_org":            "社会组织",
	"public_institution":    "事业单位",
	"government_body":       "机关",
	"individual_business":   "个体工商户",
	"responsible_person":    "责任人",
	"subject":               "本主体",
	SubjectOrganisation:     "组织",
	SubjectPerson:           "个人",
	"listing":               "列入",
	"sanction_notice":       "惩戒措施通知",
	"feedback":              "反馈",
	"objection":             "异议",
	"objection_decision":    "异议决定",
	"repair":                "信用修复",
	"correction":            "更正",
	"governance":            "治理记录",
	"public":                "公开",
	"restricted":            "有限公开",
	"none":                  "不公开",
	"legal_representative":  "法定代表人",
	"principal":             "主要负责人",
	"directly_responsible":  "直接责任人",
	"creditx.310000/ledger": "上海",
	"creditx.320000/ledger": "江苏",
	"creditx.330000/ledger": "浙江",
	"creditx.340000/ledger": "安徽",
	"early_repair":          "提前修复",
	"objection_upheld":      "异议成立",
	"error_correction":      "纠错",
	"decision_revoked":      "决定撤销",
	"expiry":                "期满",
	"general":               "一般",
	"special":               "特定",
	"stop_disclosure":       "停止公示",
	"remove":                "移出",
	"supplement":            "补充",
	"correct":               "更正",
	"annotate":              "标注",
	"shield":                "屏蔽",
	"stop_publicity":        "停止公示",
	"erase_payload":         "删除个人信息",
	"ledger_read":           "账本读取",
	"subject_access":        "本人查询",
	"objection_pending":     "异议待决",
	"approval":              "行政审批",
	"supervision":           "监管",
	"enforcement":           "联合惩戒",
	"audit":                 "审计",
	"sanction_notices":      "惩戒通知",
	"procurement":           "政府采购",
	"judicial":              "司法协助",
	"legal_erasure":         "依法删除",
	"member":                "成员",
	"replica":               "副本",
	"admin":                 "信用办",
	"publish":               "认定部门",
	"execute":               "执行部门",
	"not_applicable":        "不适用",
	"applied":               "已执行",
	"refused":               "拒绝执行",
	"withdraw":              "撤回",
	"amend":                 "修改",
	"creditx.330000/access": "浙江访问日志",
	"creditx.310000/access": "上海访问日志",
	"creditx.320000/access": "江苏访问日志",
	"creditx.340000/access": "安徽访问日志",
	"provisional":           "暂定",
	"met":                   "按期",
	"late":                  "逾期",
	"open":                  "进行中",
	"done":                  "已完成",
}

// zh is the Chinese label of code, or code itself.
func zh(code string) string {
	if s, ok := stateLabels[code]; ok {
		return s
	}
	if s, ok := domainLabels[code]; ok {
		return s
	}
	return code
}

// pageFuncs are the template functions of every page.
var pageFuncs = template.FuncMap{
	"zh":      zh,
	"domain":  func(code string) string { return or(domainLabels[code], code) },
	"add":     func(a, b int) int { return a + b },
	"grounds": func() []string { return objectionGrounds },
	"code":    memberCode,
}

// memberCode is the member code of a ledger origin ("creditx.330000/ledger"
// -> "330000"), as in /records/{code}/{index}.
func memberCode(origin string) string {
	if code, err := schemas.ParseLedgerOrigin(origin); err == nil {
		return code
	}
	return origin
}
