"""Seed the reason taxonomy; staff edit it in the admin afterwards.

Chinese keywords are found as substrings, so a short keyword also finds its longer forms
(信号 finds 信号差); the longer forms are listed anyway because the matched keyword is
shown to staff. Common traditional forms are included (訊號, 帳單, 態度, ...).
Single characters and 太慢 are left out on purpose: 网速太慢 is a network complaint, not
a waiting-time one. English keywords are matched as words with a regular ending
(-s, -es, -ed, -ing), so irregular forms are listed separately. Tibetan keywords are
left for the regional teams to add in the admin.

Seeding uses get_or_create by code: applied again (tests do) it keeps staff edits.
This migration also joins the two 0002 migrations written in parallel.
"""

from django.db import migrations

TAXONOMY = [
    {
        "code": "network",
        "name_en": "Network / signal",
        "name_zh": "网络/信号",
        "sort_order": 10,
        "keywords": {
            "zh-hans": [
                "信号", "没信号", "无信号", "信号差", "信号弱", "掉线", "断网", "网速", "网速慢",
                "网络", "上不了网", "打不了电话", "通话质量", "杂音", "4G", "5G", "基站", "宽带",
                "訊號", "信號", "網路", "網絡", "網速", "斷線", "斷網",
            ],
            "en": [
                "signal", "no signal", "coverage", "no coverage", "reception", "dropped call",
                "call dropped", "calls dropped", "network", "slow internet", "no internet",
                "internet down", "mobile data", "data connection", "broadband", "4G", "5G",
            ],
            "bo": [],
        },
    },
    {
        "code": "billing",
        "name_en": "Tariff and billing",
        "name_zh": "资费/账单",
        "sort_order": 20,
        "keywords": {
            "zh-hans": [
                "资费", "扣费", "乱扣费", "乱收费", "收费", "多扣", "扣钱", "话费", "流量费",
                "流量包", "套餐", "账单", "月租", "费用", "太贵", "退费", "充值",
                "資費", "扣費", "亂收費", "收費", "話費", "帳單", "賬單", "費用",
            ],
            "en": [
                "bill", "billing", "charge", "charged", "overcharged", "fee", "tariff", "plan",
                "price", "expensive", "cost", "refund", "invoice", "top up", "top-up",
            ],
            "bo": [],
        },
    },
    {
        "code": "attitude",
        "name_en": "Staff attitude",
        "name_zh": "服务态度",
        "sort_order": 30,
        "keywords": {
            "zh-hans": [
                "态度", "态度差", "态度不好", "服务态度", "不耐烦", "不礼貌", "没礼貌", "没有礼貌",
                "冷漠", "爱答不理", "不理人", "敷衍", "推诿", "踢皮球", "很凶", "骂人",
                "態度", "不耐煩", "不禮貌", "沒禮貌", "愛答不理", "罵人",
            ],
            "en": [
                "rude", "impolite", "unhelpful", "unfriendly", "attitude", "impatient",
                "arrogant", "disrespectful", "ignored", "yelled", "shouted", "not helpful",
            ],
            "bo": [],
        },
    },
    {
        "code": "waiting",
        "name_en": "Waiting time",
        "name_zh": "等待时间",
        "sort_order": 40,
        "keywords": {
            "zh-hans": [
                "排队", "排了", "等了", "等太久", "等很久", "等半天", "等待", "等候", "没人接",
                "占线", "效率低", "办理慢", "处理慢", "太久", "办了半天", "一直等",
                "排隊", "沒人接", "佔線", "效率太低", "辦理慢", "處理慢",
            ],
            "en": [
                "queue", "queued", "wait", "waited", "waiting", "on hold", "hold time",
                "slow service", "long line", "took forever", "too long", "delay", "delayed",
            ],
            "bo": [],
        },
    },
    {
        "code": "process",
        "name_en": "Process complexity",
        "name_zh": "流程复杂",
        "sort_order": 50,
        "keywords": {
            "zh-hans": [
                "流程", "手续", "麻烦", "繁琐", "复杂", "跑了好几次", "跑了几趟", "来回跑",
                "材料", "证明", "不给办", "办不了", "规定", "填表",
                "手續", "麻煩", "繁瑣", "複雜", "來回跑", "證明", "辦不了",
            ],
            "en": [
                "complicated", "paperwork", "process", "procedure", "bureaucracy", "red tape",
                "document", "form", "hassle", "confusing", "several times", "multiple visits",
            ],
            "bo": [],
        },
    },
    {
        "code": "product",
        "name_en": "Product or app",
        "name_zh": "产品/APP",
        "sort_order": 60,
        "keywords": {
            "zh-hans": [
                "APP", "应用", "客户端", "闪退", "登录", "登陆", "登不上", "打不开", "卡顿",
                "卡死", "系统", "网上营业厅", "小程序", "验证码", "界面",
                "閃退", "登錄", "登入", "應用", "客戶端", "系統", "驗證碼",
            ],
            "en": [
                "app", "application", "crash", "crashed", "login", "log in", "sign in",
                "password", "website", "bug", "error", "freeze", "froze", "frozen",
            ],
            "bo": [],
        },
    },
    {
        "code": "other",
        "name_en": "Other",
        "name_zh": "其他",
        "sort_order": 90,
        "keywords": {},  # given when a comment matches nothing
    },
]  # fmt: skip


def seed_taxonomy(apps, schema_editor):
    ReasonCategory = apps.get_model("surveys", "ReasonCategory")
    for entry in TAXONOMY:
        code, defaults = entry["code"], {k: v for k, v in entry.items() if k != "code"}
        ReasonCategory.objects.get_or_create(code=code, defaults=defaults)


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0002_reason_taxonomy"),
        ("surveys", "0002_conversation"),
    ]

    operations = [
        migrations.RunPython(seed_taxonomy, migrations.RunPython.noop),
    ]
