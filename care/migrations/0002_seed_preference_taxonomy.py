"""Seed the operator's preference taxonomy: 6 classes, 38 features; staff edit it afterwards.

The names in Chinese are the operator's own ("6大类共38种客户活动偏好"). Its list of channel
features ends in "……" after six of them: the two left out are taken from the operator's
own results table, which reports campaigns for 热线渠道偏好客户 and 网站渠道偏好客户
(hotline and website channel), making the 38.

Seeding uses get_or_create by code: applied again it keeps staff edits.
"""

from django.db import migrations

TAXONOMY = [
    ("business", "业务偏好特征", "Business preferences", [
        ("business_reminders", "提醒类服务产品喜好度", "Reminder services"),
        ("business_prepaid_rewards", "预存回馈类产品喜好度", "Prepayment rewards"),
        ("business_partner_merchants", "特约商户喜好度", "Partner merchants"),
        ("business_vip_club", "VIP俱乐部喜好度", "VIP club"),
        ("business_points_promotions", "积分促销喜好度", "Points promotions"),
        ("business_mobile_mall", "移动商城使用偏好", "Mobile mall"),
    ]),
    ("channel", "营销渠道偏好", "Marketing channel", [
        ("channel_sms", "短信渠道营销偏好度", "SMS"),
        ("channel_mms", "彩信渠道营销偏好度", "MMS"),
        ("channel_outbound_call", "外呼渠道营销偏好度", "Outbound call"),
        ("channel_cross_selling", "交叉营销偏好度", "Cross-selling"),
        ("channel_internet", "互联网渠道偏好度", "Internet"),
        ("channel_store", "营业厅渠道偏好度", "Store"),
        ("channel_hotline", "热线渠道偏好度", "Hotline"),
        ("channel_website", "网站渠道偏好度", "Website"),
    ]),
    ("participation", "参与方式偏好", "Participation mode", [
        ("participation_one_off", "一次性办理类", "One-off sign-up"),
        ("participation_continuous", "持续使用类", "Continuous use"),
        ("participation_quiz", "互动答题类", "Interactive quiz"),
        ("participation_social", "SNS推荐类", "Social recommendation"),
    ]),
    ("promotion", "促销形式偏好", "Promotion form", [
        ("promotion_general_prize", "普奖促销喜好度", "Prize for everyone"),
        ("promotion_lottery", "抽奖促销喜好度", "Lottery"),
        ("promotion_ranking", "排名促销喜好度", "Ranking"),
        ("promotion_first_come", "先到先得喜好度", "First come, first served"),
        ("promotion_voting", "评选促销喜好度", "Voting"),
    ]),
    ("timing", "营销时机偏好", "Marketing timing", [
        ("timing_daily", "日常营销喜好度", "Everyday"),
        ("timing_hot_topics", "热点营销喜好度", "Hot topics"),
        ("timing_holidays", "节日营销喜好度", "Holidays"),
    ]),
    ("gift", "礼品喜好特征", "Gifts", [
        ("gift_consumer_cards", "消费卡类", "Consumer cards"),
        ("gift_entertainment", "影音娱乐类", "Film, music and entertainment"),
        ("gift_family", "亲子类", "Parent and child"),
        ("gift_sport", "体育类", "Sport"),
        ("gift_shopping", "购物类", "Shopping"),
        ("gift_information", "资讯服务类", "Information services"),
        ("gift_dining", "餐饮类", "Dining"),
        ("gift_gifts", "礼品类", "Gift items"),
        ("gift_points", "积分类", "Points"),
        ("gift_airtime", "话费类", "Airtime credit"),
        ("gift_data", "业务流量类", "Mobile data"),
        ("gift_lectures", "知识讲座类", "Lectures"),
    ]),
]  # fmt: skip


def taxonomy_seed(apps, schema_editor):
    PreferenceClass = apps.get_model("care", "PreferenceClass")
    PreferenceFeature = apps.get_model("care", "PreferenceFeature")
    for class_order, (code, name_zh, name_en, features) in enumerate(TAXONOMY, start=1):
        preference_class, _created = PreferenceClass.objects.get_or_create(
            code=code,
            defaults={"name_zh": name_zh, "name_en": name_en, "order": class_order * 10},
        )
        for order, (feature_code, feature_zh, feature_en) in enumerate(features, start=1):
            PreferenceFeature.objects.get_or_create(
                code=feature_code,
                defaults={
                    "preference_class": preference_class, "name_zh": feature_zh,
                    "name_en": feature_en, "order": order * 10,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("care", "0001_initial")]

    operations = [migrations.RunPython(taxonomy_seed, migrations.RunPython.noop)]
