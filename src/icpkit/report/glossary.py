"""The methods appendix's glossary: each statistical term the report uses, in plain words."""

from __future__ import annotations

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "n",
        "How many closed deals (or customers) a figure rests on. A rate on 20 deals can move "
        "a lot with the next few deals; one on 500 will not.",
    ),
    (
        "Win rate",
        "Won deals divided by closed deals (won plus lost); open deals do not count.",
    ),
    (
        "Lift",
        "A group's win rate divided by the average win rate: 2x means the group wins twice as often.",
    ),
    (
        "Odds and the 3x rule",
        "Odds are wins per loss. A sharp ICP wins at least three times as often inside it as "
        "outside it on deals it did not learn from; Tier 1 asks for three times the odds of the "
        "average deal, Tier 2 1.75 times, Tier 3 1.25 times.",
    ),
    (
        "95% interval (Wilson)",
        "The range the true win rate most likely lies in, given how few deals there are. "
        "Wilson's method keeps the range sensible for small groups and rates near 0% or 100%; it "
        "is widened when one account has several deals.",
    ),
    (
        "q (q-value)",
        "The chance that a pattern this strong is luck, corrected for the many patterns tried "
        "at once. q below 0.05 means at most about 1 in 20 of the patterns reported is a fluke.",
    ),
    (
        "Benjamini-Hochberg",
        "The correction behind q: testing hundreds of segments finds some by chance, so each "
        "p-value is raised according to how many were tested.",
    ),
    (
        "Held-out deals",
        "Deals the ICP did not learn from (the latest quarter, or a fold of the deals), used to "
        "test it as if it had been written before they closed.",
    ),
    (
        "AUC",
        "How well the score ranks deals: the chance that a random won deal scores above a random "
        "lost one. 0.5 is a coin toss, 1.0 is perfect; 0.7 is useful.",
    ),
    (
        "PR AUC",
        "Like AUC, but focused on the top of the ranking: how clean the list of the highest "
        "scored accounts is. Compare it with the average win rate, which a random order reaches.",
    ),
    (
        "Brier score",
        "How far the predicted chances of winning are from what happened (0 is perfect, lower "
        "is better).",
    ),
    (
        "Null control",
        "The whole search rerun on shuffled outcomes, where no pattern can be real: the patterns "
        "it finds there show how many a search finds by luck.",
    ),
    (
        "PSI (population stability index)",
        "How much the spread of scores moved between two ICPs or two periods: below 0.1 is "
        "little, above 0.25 is a large shift.",
    ),
    (
        "Points and score",
        "Each attribute value adds or removes points; the score is the sum, 0-100. Every 25 "
        "points triples the odds of winning.",
    ),
    (
        "Minimum support",
        "The fewest closed deals a criterion needs behind it before it may enter a tier.",
    ),
)
