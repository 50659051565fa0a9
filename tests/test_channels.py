"""GA4's default channel group (lib/analytics/channels.py): every rule row by row, the issue's examples,
click ids, Israeli sites, Hebrew media, paid source spellings, the source-category data, the vectorised
path and the Settings table. Every expected channel is worked out by hand from the rules in Google's order
(Direct, Cross-network, Paid Shopping, Paid Search, Paid Social, Paid Video, Display, Paid Other, Organic
Shopping, Organic Social, Organic Video, Organic Search, Referral, Email, Affiliates, Audio, SMS, Mobile
Push Notifications, Unassigned); "paid" below means the medium matches ^(.*cp.*|ppc|retargeting|paid.*)$."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from lib import analytics as A
from lib.analytics import channels as C
from lib.schema import empty_leads, to_canonical_leads
from tests.conftest import lead_item, run_app

# (source, medium, campaign, referrer, landing page) → channel, with the reason when it is not obvious.
CASES = [
    # -- Direct: source (direct) or missing, medium (none)/(not set)
    ((None, None, None, None, None), "Direct"),
    (("(direct)", "(none)", None, None, None), "Direct"),
    (("direct", "(not set)", None, None, None), "Direct"),
    (("ישיר", None, None, None, None), "Direct"),  # alias → direct
    ((None, None, None, "", "https://x.co.il/"), "Direct"),  # no referrer, no click id
    ((None, None, None, None, "https://x.co.il/?gclid="), "Direct"),  # an empty click id is none
    ((None, None, None, None, "https://x.co.il/?notgclid=1"), "Direct"),  # not the gclid parameter
    ((None, None, "summer", None, None), "Unassigned"),  # a campaign without source is not direct
    # -- Cross-network: campaign contains "cross-network" (before every paid rule)
    (("google", "cpc", "Cross-network PMax", None, None), "Cross-network"),
    ((None, None, "cross-network_brand", None, None), "Cross-network"),
    # -- Paid Shopping: (shopping site OR shop campaign) AND paid
    (("zap", "cpc", None, None, None), "Paid Shopping"),  # Zap: Israeli shopping site (ours)
    (("amazon", "ppc", None, None, None), "Paid Shopping"),
    (("google", "cpc", "Shopping - summer", None, None), "Paid Shopping"),  # shop campaign before search
    (("facebook", "paid", "eshop_retarget", None, None), "Paid Shopping"),  # "e" then "shop" matches
    (("facebook", "paid", "workshop", None, None), "Paid Social"),  # "k" then "shop" does not
    # -- Paid Search: search site AND paid
    (("google", "cpc", None, None, None), "Paid Search"),
    (("bing", "ppc", None, None, None), "Paid Search"),
    (("Google.co.il", "CPC", None, None, None), "Paid Search"),
    (("duckduckgo", "paid_search", None, None, None), "Paid Search"),
    (("yahoo.co.jp", "retargeting", None, None, None), "Paid Search"),
    (("google", "cpm", None, None, None), "Paid Search"),  # cpm matches .*cp.*: paid before Display
    (("גוגל", "ממומן", None, None, None), "Paid Search"),  # ממומן → paid
    (("גוגל ממומן", None, None, None, None), "Paid Search"),  # the source's paid word stands in
    # -- Paid Social: social site AND paid
    (("facebook", "cpc", None, None, None), "Paid Social"),
    (("Instagram", "paid_social", None, None, None), "Paid Social"),
    (("tiktok", "cpm", None, None, None), "Paid Social"),
    (("linkedin", "ppc", None, None, None), "Paid Social"),
    (("facebook", None, "Spring sale - paid", None, None), "Paid Social"),  # the campaign says paid
    (("פייסבוק ממומן", None, None, None, None), "Paid Social"),
    (("facebook", "sponsored", None, None, None), "Paid Social"),  # sponsored → paid
    # -- Paid Video: video site AND paid
    (("youtube", "cpv", None, None, None), "Paid Video"),
    (("vimeo", "paid", None, None, None), "Paid Video"),
    (("יוטיוב", "cpc", None, None, None), "Paid Video"),  # alias → youtube
    # -- Display: medium display, banner, expandable, interstitial, cpm
    (("taboola", "display", None, None, None), "Display"),
    (("outbrain", "Banner", None, None, None), "Display"),
    (("ynet", "interstitial", None, None, None), "Display"),
    (("walla", "באנר", None, None, None), "Display"),  # באנר → banner
    (("google", "display", None, None, None), "Display"),  # "display" is not a paid medium
    (("taboola", "cpm", None, None, None), "Display"),  # cpm is paid too, but Display precedes Paid Other
    # -- Paid Other: paid, from no listed site
    (("taboola", "cpc", None, None, None), "Paid Other"),
    ((None, "cpc", None, None, None), "Paid Other"),
    (("newsletter", "cpc", None, None, None), "Paid Other"),  # Paid Other comes before Email
    (("ads", None, None, None, None), "Paid Other"),  # a paid word alone: paid, no platform
    (("outbrain", "ads", None, None, None), "Paid Other"),  # ads → paid
    # -- Organic Shopping: shopping site OR shop campaign
    (("zap", None, None, None, None), "Organic Shopping"),
    (("ebay", None, None, None, None), "Organic Shopping"),
    (("zap.co.il", "referral", None, None, None), "Organic Shopping"),  # before Referral
    (("partner", None, "shopping_week", None, None), "Organic Shopping"),
    # -- Organic Social: social site OR social medium
    (("facebook", None, None, None, None), "Organic Social"),
    (("טיקטוק", None, None, None, None), "Organic Social"),
    (("partner", "social", None, None, None), "Organic Social"),
    (("partner", "Social Media", None, None, None), "Organic Social"),
    (("partner", "סושיאל", None, None, None), "Organic Social"),  # סושיאל → social
    (("t.me", "referral", None, None, None), "Organic Social"),  # Google lists t.me as social
    (("telegram", None, None, None, None), "Organic Social"),  # ours
    (("news.ycombinator.com", "referral", None, None, None), "Organic Social"),
    (("plus.google.com", None, None, None, None), "Organic Social"),  # not search
    (("facebook", "social", None, None, "https://x.co.il/?fbclid=1"), "Organic Social"),  # medium stated
    # -- Organic Video: video site OR medium contains video
    (("youtube", None, None, None, None), "Organic Video"),
    (("partner", "video", None, None, None), "Organic Video"),
    (("webinar", "video_embed", None, None, None), "Organic Video"),
    (("partner", "וידאו", None, None, None), "Organic Video"),  # וידאו → video
    # -- Organic Search: search site OR medium organic
    (("google", None, None, None, None), "Organic Search"),
    (("google", "organic", None, None, None), "Organic Search"),
    ((None, "organic", None, None, None), "Organic Search"),
    (("bing.com", None, None, None, None), "Organic Search"),
    (("yandex.ru", "referral", None, None, None), "Organic Search"),  # before Referral
    (("partner", "אורגני", None, None, None), "Organic Search"),  # אורגני → organic
    # -- Referral: medium referral, app, link
    (("blog.example.com", "referral", None, None, None), "Referral"),
    (("partner", "app", None, None, None), "Referral"),
    (("partner", "link", None, None, None), "Referral"),
    (("ynet.co.il", "referral", None, None, None), "Referral"),
    (("partner", "הפניה", None, None, None), "Referral"),  # הפניה → referral
    # -- Email: source or medium contains email (after aliases), or a webmail source
    (("newsletter", None, None, None, None), "Email"),  # alias → email
    (("מייל", None, None, None, None), "Email"),
    (("crm", "e-mail", None, None, None), "Email"),
    (("crm", "email_weekly", None, None, None), "Email"),
    (("crm", "דיוור", None, None, None), "Email"),  # alias → email
    (("gmail", None, None, None, None), "Email"),  # ours: webmail
    # -- Affiliates: medium affiliate
    (("partner-site", "affiliate", None, None, None), "Affiliates"),
    (("partner-site", "affiliates", None, None, None), "Affiliates"),
    (("partner-site", "שותפים", None, None, None), "Affiliates"),
    # -- Audio: medium audio
    (("spotify", "audio", None, None, None), "Audio"),
    (("radio 103", "פודקאסט", None, None, None), "Audio"),  # פודקאסט → audio
    # -- SMS: source or medium sms
    (("sms", None, None, None, None), "SMS"),
    (("crm", "SMS", None, None, None), "SMS"),
    (("crm", "מסרון", None, None, None), "SMS"),  # מסרון → sms
    # -- Mobile Push Notifications: medium ends with push, contains mobile/notification; source firebase
    (("onesignal", "web-push", None, None, None), "Mobile Push Notifications"),
    (("app", "in-app notification", None, None, None), "Mobile Push Notifications"),
    (("app", "mobile", None, None, None), "Mobile Push Notifications"),
    (("firebase", None, None, None, None), "Mobile Push Notifications"),
    # -- Unassigned: nothing matched
    (("somewhere", None, None, None, None), "Unassigned"),
    (("ynet.co.il", None, None, None, None), "Unassigned"),  # a site with no medium
    (("partner", "print", None, None, None), "Unassigned"),
    # -- no UTM source: the referrer's host is the source, medium referral (email for webmail)
    ((None, None, None, "https://www.google.co.il/search?q=x", None), "Organic Search"),
    ((None, None, None, "https://l.facebook.com/l.php?u=x", None), "Organic Social"),
    ((None, None, None, "https://mail.google.com/mail/u/0/", None), "Email"),  # not Organic Search
    ((None, None, None, "android-app://com.google.android.gm/", None), "Email"),
    ((None, None, None, "android-app://com.google.android.googlequicksearchbox/", None), "Organic Search"),
    ((None, None, None, "https://plus.google.com/", None), "Organic Social"),
    ((None, None, None, "https://news.ycombinator.com/item?id=1", None), "Organic Social"),
    ((None, None, None, "https://t.me/channel", None), "Organic Social"),
    ((None, None, None, "https://wa.me/972500000000", None), "Organic Social"),
    ((None, None, None, "https://www.youtube.com/watch?v=1", None), "Organic Video"),
    ((None, None, None, "https://www.amazon.de/dp/1", None), "Organic Shopping"),  # brand: amazon
    ((None, None, None, "https://www.zap.co.il/model.aspx?modelid=1", None), "Organic Shopping"),
    ((None, None, None, "https://search.walla.co.il/?q=x", None), "Organic Search"),
    ((None, None, None, "https://mail.walla.co.il/", None), "Email"),
    ((None, None, None, "https://outlook.live.com/mail/0/", None), "Email"),
    ((None, None, None, "https://www.ynet.co.il/news/article/1", None), "Referral"),
    ((None, None, None, "https://www.walla.co.il/", None), "Referral"),
    ((None, None, None, "https://www.mako.co.il/news", None), "Referral"),
    ((None, None, None, "https://edition.cnn.com/", None), "Referral"),  # "cnn" is search only by name
    ((None, None, None, "https://blog.example.org/post", None), "Referral"),
    ((None, "cpc", None, "https://www.google.com/", None), "Paid Search"),  # the stated medium stays
    (("newsletter", None, None, "https://www.google.com/", None), "Email"),  # a source: referrer unused
    # -- click ids in the landing page: the platform when no source, "cpc" when no medium
    ((None, None, None, None, "https://x.co.il/?gclid=Cj0K"), "Paid Search"),
    ((None, None, None, None, "https://x.co.il/?a=1&gbraid=0AA"), "Paid Search"),
    ((None, None, None, None, "https://x.co.il/?wbraid=Cj"), "Paid Search"),
    ((None, None, None, None, "https://x.co.il/?gad_source=1"), "Paid Search"),
    ((None, None, None, None, "https://x.co.il/?GCLID=abc"), "Paid Search"),  # any case
    ((None, None, None, None, "https://x.co.il/?fbclid=IwAR"), "Paid Social"),  # Meta
    ((None, None, None, None, "https://x.co.il/?msclkid=5f"), "Paid Search"),  # Microsoft: bing
    ((None, None, None, None, "https://x.co.il/?ttclid=E"), "Paid Social"),  # TikTok
    ((None, None, None, "https://www.google.com/", "https://x.co.il/?gclid=1"), "Paid Search"),
    ((None, None, None, "https://www.ynet.co.il/", "https://x.co.il/?gclid=1"), "Paid Search"),
    (("google", None, None, None, "https://x.co.il/?gclid=1"), "Paid Search"),
    (("instagram", None, None, None, "https://x.co.il/?fbclid=1"), "Paid Social"),
    (("newsletter", "email", None, None, "https://x.co.il/?gclid=1"), "Email"),  # the UTM tags win
    (("newsletter", None, None, None, "https://x.co.il/?gclid=1"), "Email"),  # source not Google's
    (("duckduckgo", None, None, None, "https://x.co.il/?gclid=1"), "Organic Search"),  # idem
    (("(direct)", "(none)", None, None, "https://x.co.il/?gclid=1"), "Paid Search"),  # a tracker's default
    (("(direct)", None, None, "https://www.youtube.com/", "https://x.co.il/?gclid=1"), "Paid Search"),
    (("duckduckgo", None, None, None, "https://x.co.il/?msclkid=1"), "Organic Search"),  # not Microsoft's
    # the referrer names the placement when it is the platform's own site
    ((None, None, None, "https://www.youtube.com/", "https://x.co.il/?gclid=1"), "Paid Video"),
    ((None, None, None, "https://l.instagram.com/", "https://x.co.il/?fbclid=1"), "Paid Social"),
    (
        (None, None, None, "https://a1.safeframe.googlesyndication.com/", "https://x.co.il/?gclid=1"),
        "Paid Other",
    ),  # Google's ad frame: a paid visit from no listed site
    # a medium that names no channel does not "say otherwise": the click id or paid word fills it in
    (("facebook", "post", None, None, "https://x.co.il/?fbclid=1"), "Paid Social"),
    (("facebook", "post", None, None, None), "Organic Social"),
    (("fb-ads", "post", None, None, None), "Paid Social"),
    (("google", "pmax", "PMax // IL", None, "https://x.co.il/?gad_source=1"), "Paid Search"),
    (("google", "pmax", None, None, None), "Paid Search"),  # pmax → paid (ours)
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_every_rule_row_by_row(values, expected):
    source, medium, campaign, referrer, landing = values
    assert A.channel_of(source, medium, campaign, referrer, landing_page=landing) == expected


def _frame(cases) -> pd.DataFrame:
    cols = ("utm_source", "utm_medium", "utm_campaign", "referrer", "landing_page")
    return pd.DataFrame([dict(zip(cols, values, strict=True)) for values, _ in cases])


def test_the_vectorised_channel_gives_the_same_answers_on_the_canonical_frame():
    rows = _frame(CASES)
    leads = to_canonical_leads(rows.assign(lead_id=[str(i) for i in range(len(rows))]))
    got = A.channel(leads)
    assert got.tolist() == [expected for _, expected in CASES]
    assert list(got.cat.categories) == list(A.CHANNELS)
    assert got.index.equals(leads.index)


def test_the_vectorised_channel_on_plain_object_columns_and_without_optional_columns():
    rows = _frame(CASES).astype(object)
    assert A.channel(rows).tolist() == [expected for _, expected in CASES]
    # no referrer and no landing page columns: they count as missing
    bare = pd.DataFrame({"utm_source": ["google ads", None], "utm_medium": None, "utm_campaign": None})
    assert A.channel(bare).tolist() == ["Paid Search", "Direct"]
    assert len(A.channel(empty_leads())) == 0


def test_the_channels_are_ga4s_in_googles_order():
    assert A.CHANNELS == (
        "Direct", "Cross-network", "Paid Shopping", "Paid Search", "Paid Social", "Paid Video", "Display",
        "Paid Other", "Organic Shopping", "Organic Social", "Organic Video", "Organic Search", "Referral",
        "Email", "Affiliates", "Audio", "SMS", "Mobile Push Notifications", "Unassigned",
    )  # fmt: skip
    assert [r.name for r in A.CHANNEL_RULES] == list(A.CHANNELS)
    conditions = dict((r.name, r.condition) for r in A.CHANNEL_RULES)
    assert "^(.*cp.*|ppc|retargeting|paid.*)$" in conditions["Paid Search"]
    assert "^(.*(([^a-df-z]|^)shop|shopping).*)$" in conditions["Organic Shopping"]


# -- the issue's examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((None, None, None, "https://mail.google.com/mail/u/0/#inbox", None), "Email"),
        ((None, None, None, "android-app://com.google.android.gm", None), "Email"),
        ((None, None, None, "https://plus.google.com/+someone", None), "Organic Social"),
        (("adwords", None, None, None, None), "Paid Search"),
        (("googleads", None, None, None, None), "Paid Search"),
        (("google ads", None, None, None, None), "Paid Search"),
        (("fb-ads", None, None, None, None), "Paid Social"),
        (("facebook-ads", None, None, None, None), "Paid Social"),
        (("google_ads", None, None, None, None), "Paid Search"),
        (("twitter-ads", None, None, None, None), "Paid Social"),
        ((None, None, None, "https://news.ycombinator.com/", None), "Organic Social"),
        ((None, None, None, "https://t.me/x", None), "Organic Social"),
        ((None, None, None, "https://wa.me/1", None), "Organic Social"),
        ((None, None, None, None, "https://x.co.il/?gclid=1"), "Paid Search"),
        ((None, None, None, None, "https://x.co.il/?gad_source=1"), "Paid Search"),
        ((None, None, None, None, "https://x.co.il/?fbclid=1"), "Paid Social"),
        ((None, None, None, None, "https://x.co.il/?msclkid=1"), "Paid Search"),
    ],
)
def test_the_issues_examples(values, expected):
    source, medium, campaign, referrer, landing = values
    assert A.channel_of(source, medium, campaign, referrer, landing_page=landing) == expected


# -- paid spellings of a source keep their paid meaning ----------------------------------------------------

GOOGLE_PAID = ["google ads", "googleads", "adwords", "google_ads", "Google-Ads", "GoogleAds", "גוגל ממומן"]
META_PAID = ["fb-ads", "facebook-ads", "Facebook Ads", "fb ads", "fbads", "facebook_ads", "פייסבוק ממומן"]


@pytest.mark.parametrize("source", GOOGLE_PAID)
@pytest.mark.parametrize("medium", [None, "cpc", "ppc"])
def test_every_google_ads_spelling_is_paid_search(source, medium):
    assert A.channel_of(source, medium) == "Paid Search"
    assert A.channel_of(source, None, landing_page="https://x.co.il/?gclid=1") == "Paid Search"


SOCIAL_PAID = [*META_PAID, "fbad", "Reddit-ads", "twitter-ads", "tiktok ads", "linkedin_ads"]


@pytest.mark.parametrize("source", SOCIAL_PAID)
@pytest.mark.parametrize("medium", [None, "cpc", "paid_social"])
def test_every_social_ads_spelling_is_paid_social(source, medium):
    assert A.channel_of(source, medium) == "Paid Social"


def test_a_video_ads_spelling_is_paid_video():
    assert A.channel_of("yt-ads", None) == "Paid Video"  # yt → youtube, a video site
    assert A.channel_of("yt", None) == "Organic Video"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Newsletter-UK", "Email"),  # contains "newsletter" (ours, as Plausible)
        ("ניוזלטר שבועי", "Email"),
        ("Hacker News", "Organic Social"),
        ("Yahoo!", "Organic Search"),
        ("Microsoft Teams", "Organic Social"),
        ("Slack", "Organic Social"),
        ("GitHub", "Organic Social"),
        ("Perplexity", "Organic Search"),
        ("chatgpt.com", "Organic Search"),
        ("temu.com", "Organic Shopping"),
        ("Linktree", "Unassigned"),  # a site with no medium: GA4 leaves it unassigned
    ],
)
def test_named_sources_from_our_additions(source, expected):
    assert A.channel_of(source, None) == expected


def test_a_stated_medium_wins_over_the_paid_spelling():
    assert A.channel_of("google ads", "display") == "Display"
    assert A.channel_of("fb-ads", "social") == "Organic Social"
    assert A.channel_of("google ads", "organic") == "Organic Search"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("google ads", ("google", True)),
        ("googleads", ("google", True)),
        ("adwords", ("google", True)),
        ("fb-ads", ("fb", True)),
        ("פייסבוק ממומן", ("פייסבוק", True)),
        ("ads", ("ads", True)),
        ("facebook", ("facebook", False)),
        ("threads", ("threads", False)),  # ends in "ads", but "thre" is no platform
        ("leads", ("leads", False)),
        ("google-play", ("google-play", False)),
        ("(none)", ("(none)", False)),
    ],
)
def test_paid_source_splits_the_platform_from_the_paid_word(raw, expected):
    assert C.paid_source(raw) == expected


def test_the_utm_tables_group_paid_spellings_under_their_platform():
    raw = pd.Series(["google_ads", "Google-Ads", "adwords", "fb-ads", "facebook-ads", "twitter-ads"])
    assert A.normalize_utm(raw).tolist() == ["google", "google", "google", "facebook", "facebook", "twitter"]


def test_user_aliases_replace_the_defaults_but_paid_words_still_count():
    # the user's table has no Google entries: "adwords" still names google by itself
    assert A.channel_of("adwords", None, aliases={"partner1": "facebook"}) == "Paid Search"
    assert A.channel_of("partner1", None, aliases={"partner1": "facebook"}) == "Organic Social"
    one = _frame([(("Partner1", "cpc", None, None, None), "")])
    assert A.channel(one, {"partner1": "facebook"}).tolist() == ["Paid Social"]


# -- click ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://x.co.il/?gclid=1", "google"),
        ("https://x.co.il/?utm_source=a&gbraid=1", "google"),
        ("https://x.co.il/?wbraid=1", "google"),
        ("https://x.co.il/?gad_source=5", "google"),
        ("https://x.co.il/?fbclid=1", "facebook"),
        ("https://x.co.il/?msclkid=1", "bing"),
        ("https://x.co.il/?ttclid=1", "tiktok"),
        ("https://x.co.il/?fbclid=1&gclid=2", "google"),  # CLICK_IDS order: Google first
        ("https://x.co.il/#gclid=1", "google"),
        ("https://x.co.il/?gclid=", ""),
        ("https://x.co.il/?xgclid=1", ""),
        ("https://x.co.il/gclid", ""),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_click_platform(url, platform):
    assert A.click_platform(url) == platform


# -- the source-category data ------------------------------------------------------------------------------


def test_googles_list_loads_with_its_four_categories():
    google = C.load_source_categories(C.GOOGLE_CATEGORIES_FILE)
    assert set(google.values()) == {"search", "social", "video", "shopping"}
    assert len(google) == 819  # the published rows (all distinct once case-folded)
    picks = {k: google[k] for k in ("google", "facebook", "youtube", "amazon", "t.me", "mail.google.com")}
    assert picks == {"google": "search", "facebook": "social", "youtube": "video", "amazon": "shopping",
                     "t.me": "social", "mail.google.com": "search"}  # fmt: skip
    assert google["google shopping"] == "shopping"  # "Google Shopping" in the file: keys are normalised


def test_our_additions_win_and_are_a_separate_file():
    ours = C.load_source_categories(C.OUR_CATEGORIES_FILE)
    assert ours["mail.google.com"] == "email" and ours["zap.co.il"] == "shopping"
    assert A.SOURCE_CATEGORIES["mail.google.com"] == "email"  # ours read last
    assert A.SOURCE_CATEGORIES["google"] == "search"
    for name in ("walla.co.il", "ynet.co.il", "mako.co.il"):  # news portals stay referrals
        assert name not in A.SOURCE_CATEGORIES


def test_the_data_files_sit_in_the_package_and_are_not_git_ignored():
    here = Path(C.__file__).resolve().parent / "data"
    assert C.GOOGLE_CATEGORIES_FILE.parent == here and C.OUR_CATEGORIES_FILE.parent == here
    readme = (here / "README.md").read_text(encoding="utf-8")
    assert "Velir/dbt-ga4" in readme and "seeds/ga4_source_categories.csv" in readme
    repo = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (repo / ".git").exists():
        pytest.skip("no git checkout")
    for path in (C.GOOGLE_CATEGORIES_FILE, C.OUR_CATEGORIES_FILE):
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=repo, check=False)
        assert ignored.returncode == 1, f"{path} is git-ignored"


@pytest.mark.parametrize(
    ("source", "category"),
    [
        ("google", "search"),
        ("google.co.il", "search"),  # brand label before the country's second level
        ("www.google.com", "search"),
        ("amazon.de", "shopping"),
        ("news.ycombinator.com", "social"),
        ("ycombinator.com", ""),
        ("m.zap.co.il", "shopping"),
        ("ynet.co.il", ""),
        ("cnn", "search"),  # Google's list, kept
        ("edition.cnn.com", ""),  # but not by brand
        ("com.facebook.katana", "social"),
        ("somewhere", ""),
    ],
)
def test_source_category(source, category):
    assert A.source_category(source) == category


# -- Settings shows the rules ------------------------------------------------------------------------------


def test_settings_shows_the_channel_rules_read_only(serve_leads):
    serve_leads([lead_item(1, "new", 1, "10:00")])
    at = run_app("pages/settings.py")
    assert "Channel rules" in [s.value for s in at.subheader]
    table = next(df.value for df in at.dataframe if "channel" in df.value.columns)
    assert table["channel"].tolist() == list(A.CHANNELS)
    when = dict(zip(table["channel"], table["when"], strict=True))
    assert when["Affiliates"] == 'medium is "affiliate"'
    assert when["Unassigned"] == "no rule above matched"
