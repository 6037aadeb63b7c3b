"""Label names, value lists and templates shared by prepare.py, train.py and evaluate.py.

Everything here is hand-written for this recipe (no external source). Seeds and hold-outs are fixed.
"""

# ---- MSRA concepts -------------------------------------------------------------------------------
# Names used in training (sampled per example and per epoch).
TRAIN_NAMES = {
    "PER": ["人物", "人", "姓名", "人员", "人士", "名字", "person", "Person", "自然人", "人员姓名", "个人"],
    "LOC": ["地点", "地理位置", "位置", "地区", "地方", "场所", "location", "Location", "地区名称", "场所名称", "地域"],
    "ORG": ["组织机构", "组织", "机构", "单位", "团体", "organization", "Organization", "组织单位", "单位名称",
            "团体名称", "机关单位", "组织或机构"],
}
# Canonical names for the main MSRA numbers and for `uninlu validate` (all of them are training names).
CANONICAL = {"PER": "人物", "LOC": "地点", "ORG": "组织机构"}
# Never used in training: the unseen-label-name test.
HELDOUT_NAMES = [
    {"PER": "人名", "LOC": "地名", "ORG": "机构名"},
    {"PER": "人物姓名", "LOC": "地点名称", "ORG": "组织名称"},
    {"PER": "people", "LOC": "place", "ORG": "institution"},
]
for _set in HELDOUT_NAMES:
    for _k, _v in _set.items():
        assert all(_v != n for names in TRAIN_NAMES.values() for n in names), _v

# ---- CrossWOZ slots ------------------------------------------------------------------------------
# (domain, slot) -> names; the first one is canonical (used for evaluation).
SLOT_NAMES = {
    ("景点", "名称"): ["景点名称", "景点", "景点名"],
    ("酒店", "名称"): ["酒店名称", "酒店", "酒店名"],
    ("餐馆", "名称"): ["餐馆名称", "餐馆", "餐厅名称", "餐馆名"],
    ("景点", "游玩时间"): ["游玩时间", "游玩时长"],
    ("景点", "评分"): ["评分", "景点评分", "分数"],
    ("酒店", "评分"): ["评分", "酒店评分", "分数"],
    ("餐馆", "评分"): ["评分", "餐馆评分", "分数"],
    ("景点", "门票"): ["门票", "门票价格", "票价"],
    ("酒店", "价格"): ["价格", "酒店价格", "房价"],
    ("酒店", "酒店类型"): ["酒店类型", "类型"],
    ("酒店", "酒店设施"): ["酒店设施", "设施"],
    ("餐馆", "人均消费"): ["人均消费", "人均价格"],
    ("餐馆", "推荐菜"): ["推荐菜", "菜品", "菜名"],
    ("地铁", "出发地"): ["出发地", "起点", "出发地点"],
    ("地铁", "目的地"): ["目的地", "终点", "到达地"],
    ("出租", "出发地"): ["出发地", "起点", "出发地点"],
    ("出租", "目的地"): ["目的地", "终点", "到达地"],
}
DOMAIN_SLOTS = {}
for (_d, _s) in SLOT_NAMES:
    DOMAIN_SLOTS.setdefault(_d, []).append(_s)

# Negative labels for MSRA sentences: CrossWOZ-only concepts that news sentences practically never contain.
MSRA_NEGATIVES = ["推荐菜", "菜品", "酒店设施", "酒店类型", "人均消费", "游玩时间", "营业时间", "车型", "车牌",
                  "门票", "评分", "意图", "房价", "景点名称", "餐馆名称", "酒店名称"]

INTENT_LABELS = ["意图", "用户意图", "意图类型"]
INTENT_CANONICAL = "意图"

# ---- Travel (synthetic, hand-written) ------------------------------------------------------------
TRAVEL_NAMES = {
    "SRC": ["出发地", "出发城市", "起点", "始发地"],
    "DST": ["目的地", "目的城市", "终点", "到达地"],
    "TIME": ["时间", "日期", "出发时间", "时间点"],
}
TRAVEL_NEG = ["人物", "组织机构", "推荐菜", "评分", "车牌"]
