"""Writes shared/assets/embedded-instructions.json, the project's own instruction data set, and reports on it (Chapter 7).

Usage:
    python ch07/make_instruction_dataset.py          # (re)write the file and print the report
    python ch07/make_instruction_dataset.py --check  # exit 1 if the committed file differs from what this script writes

Every entry was written for this project (MIT license): {"instruction", "input", "output", "family"}, input
may be empty. Most families follow fixed rules, so an answer is right or wrong (exact match):

    persona_pirate  a sentence rewritten in pirate speak: fixed word swaps, then " Arr!"  (mostly copying)
    conversion      a unit conversion: the number with zeros appended, and the new unit  (copying + a rule)
    sort            three digits sorted, smallest or largest first                        (comparing)
    word_count      the number of words in a sentence                                     (counting)
    sentiment       positive or negative, from the adjective of a short sentence          (twenty fixed words)

The open-ended families (explain, example, summarise, rewrite) are scored by word overlap. The inputs are
drawn at random from word lists, so a held-out entry asks for something the model has not seen: a new
sentence, new numbers; only the twenty sentiment adjectives are facts every entry reuses. Families that need
spelling (plurals, capital letters) or many facts (sums of two digits, opposites) are left out on purpose:
a 4M-parameter model does not learn them within Chapter 7's few minutes (ch07/README.md has the figures). One
seeded random.Random drives everything: the file is the same byte for byte on every run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter

from shared.instruction_data import EMBEDDED_INSTRUCTIONS, PERSONA_INSTRUCTIONS, split_instruction_data
from shared.instruction_eval import RULE_BASED_FAMILIES
from shared.near_duplicates import near_duplicate_share

SEED = 77

NOUNS = ("map hat key boat rope lamp coat bag dog cat bread letter net sail anchor chest bottle shell barrel flag "
         "compass lantern ladder bucket cup drum bell kettle parrot hammer basket blanket candle ticket pillow "
         "spoon plate apple pear fish cake shirt boot clock mirror window door table chair garden island").split()
SUBJECTS = ["I", "we", "they", "you", "my friend", "my friends", "your friend", "the captain", "the cook",
            "the keeper", "my sister", "our teacher", "the old sailor", "Tom", "Mara", "Ben", "Ada", "the children"]
VERBS = ("found lost painted fixed cleaned carried opened closed sold bought washed dropped mended counted hid "
         "fetched watched pulled tied filled emptied packed").split()
OWNERS = ["the", "the", "my", "your", "a"]
TIMES = ["today", "this morning", "last night", "at noon", "on Sunday", "after dinner", "before the rain"]
ADJECTIVES = "happy hungry cold ready lost brave sleepy wet late tired fast new old safe".split()

PIRATE_WORDS = {"hello": "ahoy", "hi": "ahoy", "my": "me", "you": "ye", "your": "yer", "is": "be", "are": "be",
                "am": "be", "friend": "matey", "friends": "mateys", "yes": "aye", "money": "doubloons",
                "coins": "doubloons", "stop": "avast", "boat": "ship"}
PIRATE_OPENERS = ["hello", "hi", "yes", "hello my friend", "hi friends", "stop", "", ""]

UNITS = [("meters", "centimeters", 100), ("kilometers", "meters", 1000), ("centimeters", "millimeters", 10),
         ("kilograms", "grams", 1000), ("liters", "milliliters", 1000)]

POSITIVE = "wonderful lovely great delicious beautiful friendly cheerful bright kind perfect".split()
NEGATIVE = "terrible awful boring cold rude broken dirty gloomy horrible noisy".split()
THINGS = ["the bread", "the weather", "the harbour", "the music", "the lamp", "the market", "the room", "the walk",
          "the trip", "the tea", "the soup", "the ferry", "the shop", "the garden"]
SENTIMENT_TEMPLATES = ["{thing} was {adj}.", "I think {thing} is {adj}.", "{thing} is {adj} today.",
                       "We all said {thing} was {adj}."]

EXPLAIN = {
    "lighthouse": "A lighthouse is a tall tower with a bright light that guides ships at night.",
    "harbour": "A harbour is a sheltered place by the coast where boats stay safe.",
    "anchor": "An anchor is a heavy hook that holds a boat in one place.",
    "tide": "The tide is the rise and fall of the sea twice a day.",
    "compass": "A compass is a tool whose needle points north.",
    "map": "A map is a drawing that shows where places are.",
    "bakery": "A bakery is a shop where bread and cakes are made and sold.",
    "library": "A library is a place where people borrow books.",
    "kettle": "A kettle is a pot for boiling water.",
    "umbrella": "An umbrella keeps the rain off you.",
    "calendar": "A calendar shows the days, weeks and months of a year.",
    "thermometer": "A thermometer measures how hot or cold something is.",
    "bridge": "A bridge carries a road or path over a river or a gap.",
    "island": "An island is land with water all around it.",
    "storm": "A storm is strong wind with heavy rain.",
    "clock": "A clock is a machine that shows the time.",
    "garden": "A garden is a piece of land where plants and flowers grow.",
    "ladder": "A ladder is a set of steps you carry to climb up high.",
    "lantern": "A lantern is a light in a case that you can carry.",
    "market": "A market is a place where people buy and sell food and goods.",
    "recipe": "A recipe tells you how to cook a dish step by step.",
    "telescope": "A telescope makes things far away look closer.",
    "post office": "A post office is where you send letters and parcels.",
    "fisherman": "A fisherman is a person who catches fish for a living.",
    "volcano": "A volcano is a mountain that can throw out hot melted rock.",
    "rainbow": "A rainbow is a curve of colours in the sky after rain.",
    "dictionary": "A dictionary is a book that explains what words mean.",
    "sail": "A sail is a sheet of cloth that catches the wind to move a boat.",
    "cliff": "A cliff is a high, steep wall of rock, often by the sea.",
    "shell": "A shell is the hard outer cover of a sea animal.",
}
EXPLAIN_TEMPLATES = ["Explain what {a} {w} is.", "What is {a} {w}?"]

EXAMPLES = {
    "fruit": ["apple", "pear", "banana", "plum", "cherry"], "animal": ["dog", "horse", "rabbit", "fox", "cow"],
    "colour": ["red", "blue", "green", "yellow", "purple"], "tool": ["hammer", "saw", "spade", "drill", "wrench"],
    "vegetable": ["carrot", "potato", "onion", "leek", "pea"], "bird": ["gull", "robin", "owl", "crow", "swan"],
    "fish": ["cod", "trout", "salmon", "herring", "mackerel"], "drink": ["tea", "milk", "juice", "water", "coffee"],
    "vehicle": ["car", "bus", "bicycle", "train", "boat"], "instrument": ["piano", "drum", "violin", "flute", "guitar"],
    "flower": ["rose", "daisy", "tulip", "lily", "poppy"], "season": ["spring", "summer", "autumn", "winter"],
}
NAMES = ["Mara", "Tom", "Zoe", "Ben", "Ada", "Sam", "Nell", "Owen", "Ivy", "Jack"]
PLACES = ["lighthouse", "harbour", "bakery", "market", "library", "beach", "garden", "school"]
ACTIONS = ["fixed the lamp", "painted a picture", "read a book", "sold some apples", "met an old friend",
           "found a lost cat", "baked a cake", "fed the gulls", "wrote a letter", "mended a net"]
POLITE_VERBS = ["close", "open", "pass", "bring", "carry", "clean", "fetch", "hold", "wash", "check"]
POLITE_NOUNS = ["door", "window", "salt", "map", "bag", "table", "lamp", "rope", "cup", "box"]

# entries per randomly drawn family (conversion: all 495 pairs of a number 1-99 and a unit); the other families
# have one entry per fact and phrasing
SIZES = {"persona_pirate": 2400, "conversion": 495, "sort": 1000, "word_count": 1100, "sentiment": 900}  # the other families have one entry per fact and phrasing


def entry(family: str, instruction: str, output: str, input_text: str = "") -> dict[str, str]:
    return {"instruction": instruction, "input": input_text, "output": output, "family": family}


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def sentence_case(text: str) -> str:
    return text[0].upper() + text[1:]


def pirate(sentence: str) -> str:
    """The pirate persona's fixed rules: word substitutions (first letter's case kept), then " Arr!"."""
    words = []
    for word in sentence.split(" "):
        core = word.rstrip(",.?!")
        tail = word[len(core):]
        new = PIRATE_WORDS.get(core.lower(), core)
        if core[:1].isupper():
            new = new[:1].upper() + new[1:]
        words.append(new + tail)
    return " ".join(words) + " Arr!"


def statement(rng: random.Random) -> str:
    """A short sentence without its full stop: who did what to which thing, sometimes when."""
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OWNERS)} {rng.choice(NOUNS)}"
    return text + (f" {rng.choice(TIMES)}" if rng.random() < 0.4 else "")


def pirate_sentence(rng: random.Random) -> str:
    """A sentence for the persona: an optional greeting, then a statement or a question."""
    noun, adjective = rng.choice(NOUNS), rng.choice(ADJECTIVES)
    body, question = rng.choice([
        (statement(rng), False), (statement(rng), False), (f"where is {rng.choice(OWNERS[:4])} {noun}", True),
        (f"{rng.choice(['my', 'your'])} {noun} is {adjective}", False), (f"are you {adjective}", True),
        (f"I am {adjective}", False), (f"is your {noun} {adjective}", True),
        (f"{rng.choice(['we', 'they', 'you', 'my friends'])} are {adjective}", False),
        (f"do you have the {rng.choice(['coins', 'money', noun])}", True)])
    opener = rng.choice(PIRATE_OPENERS)
    text = f"{opener}, {body}" if opener else body
    return sentence_case(text) + ("?" if question else rng.choice([".", ".", "!"]))


def unique(make, n: int, rng: random.Random) -> list[dict]:
    """`n` different entries from `make(rng)` (the generators are random; repeats are drawn again)."""
    out: dict[str, dict] = {}
    while len(out) < n:
        new = make(rng)
        out.setdefault(json.dumps(new, sort_keys=True), new)
    return list(out.values())


def make_pirate(rng: random.Random) -> dict:
    text = pirate_sentence(rng)
    return entry("persona_pirate", PERSONA_INSTRUCTIONS["pirate"], pirate(text), text)


def make_conversion(rng: random.Random) -> dict:
    src, dst, factor = rng.choice(UNITS)
    n = rng.randint(1, 99)
    return entry("conversion", f"Convert to {dst}.", f"{n * factor} {dst}", f"{n} {src}")


def make_sort(rng: random.Random) -> dict:
    numbers = rng.sample(range(1, 10), 3)
    descending = rng.random() < 0.3
    order = "largest to smallest" if descending else "smallest to largest"
    return entry("sort", f"Sort the numbers from {order}.", ", ".join(map(str, sorted(numbers, reverse=descending))),
                 ", ".join(map(str, numbers)))


def make_word_count(rng: random.Random) -> dict:
    text = sentence_case(statement(rng)) + "."
    return entry("word_count", "How many words are in this sentence?", str(len(text.split())), text)


def make_sentiment(rng: random.Random) -> dict:
    label = rng.choice(["positive", "negative"])
    adjective = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
    text = rng.choice(SENTIMENT_TEMPLATES).format(thing=rng.choice(THINGS), adj=adjective)
    return entry("sentiment", "Is this sentence positive or negative?", label, sentence_case(text))


def make_explain() -> list[dict]:
    return [entry("explain", t.format(a=article(w), w=w), d) for w, d in EXPLAIN.items() for t in EXPLAIN_TEMPLATES]


def make_examples(rng: random.Random) -> list[dict]:
    out = []
    for category, members in EXAMPLES.items():
        for member in members:
            answer = f"{sentence_case(article(member))} {member} is {article(category)} {category}."
            if rng.random() < 0.5:
                out.append(entry("example", f"Give an example of {article(category)} {category}.", answer))
            else:
                other = rng.choice([m for m in members if m != member])
                out.append(entry("example", f"Name {article(category)} {category} other than {other}.", answer))
    return out


def make_summary(rng: random.Random) -> dict:
    name, place, action = rng.choice(NAMES), rng.choice(PLACES), rng.choice(ACTIONS)
    time = rng.choice(["early in the morning", "after lunch", "in the evening", "on a rainy day"])
    story = f"{name} went to the {place} {time}. There, {name} {action}. Then {name} went back home."
    return entry("summarise", "Summarise the text in one sentence.", f"{name} {action} at the {place}.", story)


def make_rewrites(rng: random.Random) -> list[dict]:
    return [entry("rewrite", "Rewrite the sentence to make it polite.", f"Could you please {verb} the {noun}?",
                  f"{verb.capitalize()} the {noun}.") for verb in POLITE_VERBS for noun in rng.sample(POLITE_NOUNS, 6)]


def build_dataset() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    makers = {"persona_pirate": make_pirate, "conversion": make_conversion, "sort": make_sort,
              "word_count": make_word_count, "sentiment": make_sentiment}
    data = [e for family, make in makers.items() for e in unique(make, SIZES[family], rng)]
    data += make_explain() + make_examples(rng) + unique(make_summary, 60, rng) + make_rewrites(rng)
    rng.shuffle(data)
    return data


def serialise(data: list[dict[str, str]]) -> str:
    """A JSON list with one entry per line: compact, and a change shows as changed lines."""
    return "[\n" + ",\n".join(json.dumps(e, ensure_ascii=False) for e in data) + "\n]\n"


def report(data: list[dict[str, str]]) -> None:
    families = Counter(e["family"] for e in data)
    rule = sum(n for f, n in families.items() if f in RULE_BASED_FAMILIES)
    print(f"{len(data)} entries, {len(families)} families; rule-based (exact match): {rule} ({rule / len(data):.0%})")
    train, test, val = split_instruction_data(data, shuffle=True)
    test_families = Counter(e["family"] for e in test)
    for family, n in sorted(families.items()):
        print(f"  {family:15s} {n:4d} entries, {test_families[family]:3d} held out for testing")
    print(f"split: {len(train)} train / {len(test)} test / {len(val)} validation")
    texts = [" ".join((e["instruction"], e["input"], e["output"])) for e in data]
    print(f"near-duplicates (word-bigram Jaccard >= 0.7): {near_duplicate_share(texts):.1%} of the entries")
    train_texts = {" ".join((e["instruction"], e["input"])) for e in train}
    leaked = sum(" ".join((e["instruction"], e["input"])) in train_texts for e in test)
    print(f"test prompts that also occur in the training split: {leaked}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is not what this script writes")
    args = parser.parse_args(argv)
    data = build_dataset()
    text = serialise(data)
    if args.check:
        same = EMBEDDED_INSTRUCTIONS.is_file() and EMBEDDED_INSTRUCTIONS.read_text(encoding="utf-8") == text
        print(f"{EMBEDDED_INSTRUCTIONS.name}: {'up to date' if same else 'DIFFERS from what the script writes'}")
        return 0 if same else 1
    EMBEDDED_INSTRUCTIONS.write_text(text, encoding="utf-8")
    print(f"wrote {EMBEDDED_INSTRUCTIONS}")
    report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
