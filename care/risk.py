"""The risk model: trained on customers whose answers are known, it scores every customer.

Training (risk_train) is validated on a later period than it learnt from, never on the
same one: with WINDOW = 30 days and T3 the moment of training,

- train: features as of T1 = T3 - 60 days, labels from answers in (T1, T2 = T3 - 30 days];
- validation: features as of T2, labels from answers in (T2, T3].

A label is whether the customer's first answer to a survey after an interaction (invitation
purpose "survey") in the period is a detractor (score 6 or less); customers who did not
answer in the period are not labelled. The model is a logistic regression on standardised
features with balanced class weights; its means, scales, coefficients and intercept are
stored as JSON in RiskModel.parameters, so any version can be read and rerun.

A version finds a signal when the lower bound of its validation AUC's 95% interval
(Hanley & McNeil, 1982) is above 0.5 and both periods have at least MIN_POSITIVES
detractors. Only such a version becomes the one in use; one without a signal is kept, for
the record, and scores no one.

Beside it, the rule score (RULE_WEIGHTS) is what an operator would do by hand; each version
stores the rule's AUC and precision on the same validation customers, so the lift of the
model over the rule is on record.

Scoring (risk_score_all) scores every customer with the version in use, writes the scores
naming it, then makes the riskiest PoolPolicy.potential_share of customers potential pool
members (reason "model") with the three features that raised their score most; an open
stay whose customer is no longer that risky ends with exit reason "risk_fell".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from celery import shared_task
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from care.features import FEATURES, features_iter
from care.models import (
    EntryReason,
    ExitReason,
    MemberKind,
    PoolMember,
    PoolPolicy,
    RiskModel,
    RiskScore,
)
from surveys.models import Customer, Purpose, Response

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

ALGORITHM = "logistic regression"
WINDOW = timedelta(days=30)
MIN_POSITIVES = 20
Z95 = 1.959964
FACTORS_SHOWN = 3
WRITE_BATCH = 5_000

# The rule an operator would apply by hand: points per sign of trouble.
RULE_WEIGHTS: dict[str, float] = {
    "complaints_90d": 3.0,  # per complaint in the last 90 days
    "repeats_7d": 1.0,  # per interaction in the last 7 days
    "last_detractor": 3.0,  # the last answer was a detractor
    "cases_unresolved": 2.0,  # per case not resolved
    "arpu_fell": 2.0,  # ARPU fell on the previous month
}


def rule_score(matrix: Floats) -> Floats:
    """The rule score of each row of a FEATURES matrix (RULE_WEIGHTS)."""

    col = {name: matrix[:, FEATURES.index(name)] for name in FEATURES}
    score = np.zeros(len(matrix))
    for name, weight in RULE_WEIGHTS.items():
        value = (col["arpu_trend_yuan"] < 0).astype(float) if name == "arpu_fell" else col[name]
        score += weight * value
    return score


# ---------------------------------------------------------------- measures


def precision_at(scores: Floats, labels: Floats, share: float) -> float | None:
    """The share of detractors among the top `share` by score; ties at the cut share it."""

    n = len(scores)
    if n == 0:
        return None
    k = max(1, math.ceil(share * n))
    cut = np.sort(scores)[::-1][k - 1]
    above, tied = scores > cut, scores == cut
    positives = labels[above].sum() + (k - above.sum()) * labels[tied].mean()
    return float(positives / k)


def auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """The 95% interval of an AUC (Hanley & McNeil's standard error)."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / (positives * negatives)
    se = math.sqrt(max(variance, 0.0))
    return auc - Z95 * se, auc + Z95 * se


def _auc(scores: Floats, labels: Floats) -> float | None:
    if labels.min(initial=1) == labels.max(initial=0):
        return None  # one class only
    return float(roc_auc_score(labels, scores))


# ---------------------------------------------------------------- training


@dataclass
class Labelled:
    matrix: Floats
    labels: Floats


def _labelled(*, as_of: datetime, until: datetime) -> Labelled:
    """Features as of `as_of` of the customers who answered in (as_of, until], and labels."""

    answers = (
        Response.objects.filter(
            invitation__purpose=Purpose.SURVEY, created_at__gt=as_of, created_at__lte=until
        )
        .order_by("customer_id", "created_at", "id")
        .values_list("customer_id", "score")
    )
    pairs = np.array(list(answers), dtype=np.int64).reshape(-1, 2)
    ids, first = np.unique(pairs[:, 0], return_index=True)
    labels = (pairs[first, 1] <= 6).astype(np.float64)
    rows, found = [], []
    for chunk in features_iter(as_of=as_of):
        keep = np.isin(chunk.customer_ids, ids)
        rows.append(chunk.matrix[keep])
        found.append(chunk.customer_ids[keep])
    matrix = np.concatenate(rows) if rows else np.zeros((0, len(FEATURES)))
    at = np.searchsorted(ids, np.concatenate(found) if found else np.zeros(0, np.int64))
    return Labelled(matrix=matrix, labels=labels[at])


def _fit(train: Labelled) -> dict[str, Any]:
    means = train.matrix.mean(axis=0)
    scales = train.matrix.std(axis=0)
    scales[scales == 0] = 1.0
    fit = LogisticRegression(class_weight="balanced", max_iter=1000)
    fit.fit((train.matrix - means) / scales, train.labels)
    return {
        "features": list(FEATURES),
        "means": means.tolist(),
        "scales": scales.tolist(),
        "coef": np.ravel(fit.coef_).tolist(),
        "intercept": float(fit.intercept_[0]),
    }


def _measures(scores: Floats, labels: Floats) -> dict[str, float | None]:
    return {
        "auc": _auc(scores, labels),
        "top1": precision_at(scores, labels, 0.01),
        "top5": precision_at(scores, labels, 0.05),
    }


def risk_train(*, now: datetime | None = None) -> RiskModel:
    """Train and validate a new version; it replaces the one in use only if it finds a signal."""
    now = now or timezone.now()
    t2, t1 = now - WINDOW, now - 2 * WINDOW
    train, valid = _labelled(as_of=t1, until=t2), _labelled(as_of=t2, until=now)
    train_pos, valid_pos = int(train.labels.sum()), int(valid.labels.sum())
    params: dict[str, Any] = {"rule_weights": RULE_WEIGHTS, "train_positives": train_pos}
    model_m: dict[str, float | None] = {"auc": None, "top1": None, "top5": None}
    note = ""
    if 0 < train_pos < len(train.labels):
        params |= _fit(train)
        model_m = _measures(risk_probability(params, valid.matrix), valid.labels)
    else:
        note = "The training period has answers of one kind only: nothing to learn from."
    rule_m = _measures(rule_score(valid.matrix), valid.labels)
    signal = False
    if model_m["auc"] is not None:
        low, high = auc_interval(model_m["auc"], valid_pos, len(valid.labels) - valid_pos)
        params["auc_interval"] = [low, high]
        signal = low > 0.5 and min(train_pos, valid_pos) >= MIN_POSITIVES
    with transaction.atomic():
        model = RiskModel.objects.create(
            algorithm=ALGORITHM,
            trained_from=t1,
            trained_to=t2,
            validated_to=now,
            train_size=len(train.labels),
            validation_size=len(valid.labels),
            validation_positives=valid_pos,
            auc=model_m["auc"],
            precision_top1=model_m["top1"],
            precision_top5=model_m["top5"],
            rule_auc=rule_m["auc"],
            rule_precision_top1=rule_m["top1"],
            rule_precision_top5=rule_m["top5"],
            has_signal=signal,
            parameters=params,
            note=note,
        )
        if signal:
            RiskModel.objects.filter(is_active=True).update(is_active=False)
            RiskModel.objects.filter(pk=model.pk).update(is_active=True)
            model.is_active = True
    return model


# ---------------------------------------------------------------- scoring


def _standardised(params: dict[str, Any], matrix: Floats) -> Floats:

    return (matrix - np.asarray(params["means"])) / np.asarray(params["scales"])


def risk_probability(params: dict[str, Any], matrix: Floats) -> Floats:
    """The detractor probability a version's parameters give each row of a FEATURES matrix."""

    logit = _standardised(params, matrix) @ np.asarray(params["coef"]) + params["intercept"]
    return 1.0 / (1.0 + np.exp(-logit))


def risk_factors(params: dict[str, Any], row: Floats) -> list[dict[str, Any]]:
    """The features that raised one customer's score most: coefficient × standardised value."""
    return _factors(params, row[None, :])[0]


@dataclass
class _Top:
    """The riskiest k rows seen so far, kept as the chunks go by."""

    k: int
    ids: Ints
    scores: Floats
    rows: Floats

    def add(self, ids: Ints, scores: Floats, rows: Floats) -> None:

        ids = np.concatenate([self.ids, ids])
        scores = np.concatenate([self.scores, scores])
        rows = np.concatenate([self.rows, rows])
        keep = np.lexsort((ids, -scores))[: self.k]  # riskiest first, then lower id
        self.ids, self.scores, self.rows = ids[keep], scores[keep], rows[keep]


def risk_score_all(*, now: datetime | None = None) -> int:
    """Score every customer with the version in use and update the potential members.

    Returns how many customers were scored (0 without a version in use). Safe to run twice
    at once: scores are upserts and an entry conflicts with the open stay of the other run.
    """

    now = now or timezone.now()
    model = RiskModel.objects.filter(is_active=True, has_signal=True).first()
    # A version trained on other features than these (an older release) cannot score them.
    if model is None or model.parameters.get("features") != list(FEATURES):
        return 0
    params = model.parameters
    k = int(PoolPolicy.current().potential_share * Customer.objects.count() + 0.5)
    top = _Top(k, np.zeros(0, np.int64), np.zeros(0), np.zeros((0, len(FEATURES))))
    all_ids, all_scores = [], []
    for chunk in features_iter(as_of=now):
        scores = risk_probability(params, chunk.matrix)
        all_ids.append(chunk.customer_ids)
        all_scores.append(scores)
        top.add(chunk.customer_ids, scores, chunk.matrix)
    if not all_ids:
        return 0
    ids, scores = np.concatenate(all_ids), np.concatenate(all_scores)
    with transaction.atomic():
        scores_write(model=model, customer_ids=ids, scores=scores, at=now)
        _pool_update(model=model, top=top, params=params, at=now)
    return len(ids)


def scores_write(*, model: RiskModel, customer_ids: Any, scores: Any, at: datetime) -> None:
    """Upsert each customer's score, naming the version (COPY on PostgreSQL)."""
    if connection.vendor == "postgresql":
        _scores_copy(model=model, customer_ids=customer_ids, scores=scores, at=at)
        return
    for start in range(0, len(customer_ids), WRITE_BATCH):
        RiskScore.objects.bulk_create(
            [
                RiskScore(customer_id=int(c), risk_model=model, score=float(s), scored_at=at)
                for c, s in zip(
                    customer_ids[start : start + WRITE_BATCH],
                    scores[start : start + WRITE_BATCH],
                    strict=True,
                )
            ],
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=["risk_model", "score", "scored_at"],
        )


def _scores_copy(*, model: RiskModel, customer_ids: Ints, scores: Floats, at: datetime) -> None:
    """Binary COPY of (customer, score) into a temporary table, then one upsert from it."""
    table = RiskScore._meta.db_table
    row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("s", ">f8")])
    rows = np.zeros(len(customer_ids), dtype=row)
    rows["n"], rows["l1"], rows["l2"] = 2, 8, 8
    rows["id"], rows["s"] = customer_ids, scores
    header = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no extension
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS care_score_load "
            "(customer_id bigint, score double precision) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE care_score_load")
        copy_in = "COPY care_score_load (customer_id, score) FROM STDIN (FORMAT binary)"
        with cursor.copy(copy_in) as copy:
            copy.write(header + rows.tobytes() + b"\xff\xff")
        cursor.execute(
            f"INSERT INTO {table} (customer_id, risk_model_id, score, scored_at)"  # noqa: S608
            " SELECT customer_id, %s, score, %s FROM care_score_load ORDER BY customer_id"
            " ON CONFLICT (customer_id) DO UPDATE SET risk_model_id = EXCLUDED.risk_model_id,"
            " score = EXCLUDED.score, scored_at = EXCLUDED.scored_at",
            [model.pk, at],
        )


def _factors(params: dict[str, Any], rows: Floats) -> list[list[dict[str, Any]]]:
    """Each row's top FACTORS_SHOWN positive contributions, largest first."""
    contributions = _standardised(params, rows) * np.asarray(params["coef"])
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :FACTORS_SHOWN]
    names = params["features"]
    return [
        [
            {
                "feature": names[i],
                "value": round(float(rows[r, i]), 3),
                "contribution": round(float(contributions[r, i]), 3),
            }
            for i in order[r]
            if contributions[r, i] > 0
        ]
        for r in range(len(rows))
    ]


def _pool_update(*, model: RiskModel, top: _Top, params: dict[str, Any], at: datetime) -> None:
    """Open a stay for the riskiest customers not in already; end those no longer risky."""
    cut = float(top.scores.min()) if top.k and len(top.scores) else math.inf
    still_risky = RiskScore.objects.filter(
        customer_id=OuterRef("customer_id"), risk_model=model, score__gte=cut
    )
    open_stays = PoolMember.objects.filter(reason=EntryReason.MODEL, left_at__isnull=True)
    open_stays.filter(~Exists(still_risky)).update(left_at=at, exit_reason=ExitReason.RISK_FELL)
    inside = np.fromiter(open_stays.values_list("customer_id", flat=True), dtype=np.int64)
    new = ~np.isin(top.ids, inside)
    ids, scores, rows = top.ids[new], top.scores[new], top.rows[new]
    factors = _factors(params, rows)
    if connection.vendor == "postgresql":
        _members_copy(model=model, ids=ids, scores=scores, factors=factors, at=at)
        return
    PoolMember.objects.bulk_create(
        [
            PoolMember(
                customer_id=int(customer_id),
                kind=MemberKind.POTENTIAL,
                reason=EntryReason.MODEL,
                source=f"risk_model:{model.pk}",
                entered_at=at,
                risk=float(score),
                risk_model=model,
                factors=f,
            )
            for customer_id, score, f in zip(ids, scores, factors, strict=True)
        ],
        batch_size=WRITE_BATCH,
        ignore_conflicts=True,  # another run opened the stay meanwhile
    )


def _members_copy(
    *, model: RiskModel, ids: Ints, scores: Floats, factors: list[Any], at: datetime
) -> None:
    """COPY the entrants into a temporary table, then insert those without an open stay."""
    table = PoolMember._meta.db_table
    lines = (
        f"{c}\t{s!r}\t{json.dumps(f).replace(chr(92), chr(92) * 2)}\n"
        for c, s, f in zip(ids.tolist(), scores.tolist(), factors, strict=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS care_member_load "
            "(customer_id bigint, risk double precision, factors jsonb) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE care_member_load")
        with cursor.copy("COPY care_member_load (customer_id, risk, factors) FROM STDIN") as copy:
            copy.write("".join(lines))
        # ON CONFLICT: the open-stay constraint; another run may have opened the stay meanwhile.
        cursor.execute(
            f"INSERT INTO {table} (customer_id, kind, reason, detail, source, entered_at,"  # noqa: S608
            " exit_reason, risk, risk_model_id, factors)"
            " SELECT customer_id, %s, %s, '', %s, %s, '', risk, %s, factors"
            " FROM care_member_load ORDER BY customer_id ON CONFLICT DO NOTHING",
            [MemberKind.POTENTIAL, EntryReason.MODEL, f"risk_model:{model.pk}", at, model.pk],
        )


# ---------------------------------------------------------------- tasks


@shared_task
def train_model() -> int:
    """Weekly, and on demand from the admin and `manage.py pool_train`."""
    return risk_train().pk


@shared_task
def score_customers() -> int:
    """Daily: every customer's score, and the potential members."""
    return risk_score_all()
