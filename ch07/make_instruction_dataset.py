"""Writes shared/assets/embedded-instructions.json, the project's own instruction data set, and reports on it (Chapter 7).

Usage:
    python ch07/make_instruction_dataset.py          # (re)write the file and print the report
    python ch07/make_instruction_dataset.py --check  # exit 1 if the committed file differs from what this script writes

Every entry was written for this project (MIT license): {"instruction", "input", "output", "family"}, input
may be empty. Most families follow fixed rules, so a model's answer can be checked by exact match (plurals,
opposites from a fixed list, small sums, capital letters, unit conversions, word counts, sorting, the
sentiment of a sentence, and the pirate persona: a sentence rewritten by fixed word substitutions); the
others are open-ended (explain, give an example, summarise, rewrite politely) and are scored by word
overlap. The sentences are short and the outputs shorter, so that the 4M-parameter model of Chapter 5 can
learn the tasks in a few minutes on a CPU. One seeded random.Random drives everything: the file is the
same byte for byte on every run.
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

PLURAL_S = ("cat dog boat ship lamp door book rope bell coin cup key map pen shell stone tree hat bird cake "
            "chair coat desk drum flag frog gate horse kite lake leaf_ nest net ring road rock seed sock song "
            "star tent toy wall wave wheel window yard apple anchor basket bottle bucket button candle castle "
            "cloud cookie garden hill island jacket ladder letter mountain napkin onion orange pencil pillow "
            "planet pocket rabbit river rocket sail shovel spoon table ticket tower trumpet tunnel wagon whistle "
            "bridge friend field house farm storm street cliff harbour lantern sailor keeper painter teacher "
            "baker runner singer gull crab oar mast deck cabin").replace("leaf_ ", "").split()
PLURAL_ES = "box fox bus glass dish brush match bench church watch kiss dress peach torch wish lunch beach inch".split()
PLURAL_Y = "berry city story lady puppy baby party penny pony cherry country diary family hobby jelly library".split()

OPPOSITES = [("hot", "cold"), ("big", "small"), ("fast", "slow"), ("up", "down"), ("open", "closed"),
             ("light", "dark"), ("happy", "sad"), ("early", "late"), ("full", "empty"), ("hard", "soft"),
             ("high", "low"), ("long", "short"), ("new", "old"), ("wet", "dry"), ("rich", "poor"),
             ("strong", "weak"), ("loud", "quiet"), ("clean", "dirty"), ("thick", "thin"), ("near", "far"),
             ("heavy", "light"), ("inside", "outside"), ("before", "after"), ("day", "night"), ("win", "lose"),
             ("push", "pull"), ("buy", "sell"), ("true", "false"), ("top", "bottom"), ("left", "right"),
             ("north", "south"), ("east", "west"), ("sweet", "sour"), ("brave", "afraid"), ("awake", "asleep"),
             ("first", "last"), ("alive", "dead"), ("cheap", "expensive"), ("deep", "shallow"), ("wide", "narrow"),
             ("young", "old"), ("always", "never"), ("give", "take"), ("start", "finish"), ("come", "go")]

CAPS_WORDS = ("sea harbour lamp keeper boat bread garden rope storm island gull shell market river window "
              "ladder tide cliff anchor lantern kettle bell cat dog map coin song star road wind").split()

UNITS = [("meters", "centimeters", 100), ("kilometers", "meters", 1000), ("centimeters", "millimeters", 10),
         ("kilograms", "grams", 1000), ("liters", "milliliters", 1000)]

SUBJECTS = "I we they my friend the keeper the captain the baker my sister our teacher the old sailor".split(" ")
SUBJECT_PHRASES = ["I", "we", "they", "my friend", "the keeper", "the captain", "the baker", "my sister",
                   "our teacher", "the old sailor", "you", "the children"]
VERB_PHRASES = ["found a shell", "painted the boat", "climbed the hill", "fixed the lamp", "baked fresh bread",
                "watched the storm", "sold two fish", "lost the map", "rang the bell", "cleaned the deck",
                "read a letter", "walked to the harbour", "counted the coins", "mended the net",
                "sang a song", "opened the door", "carried the rope", "saw a whale", "lit the lantern",
                "planted a tree", "tied the knot", "wrote a note", "drank hot tea", "fed the gulls"]
TIMES = ["today", "this morning", "last night", "at noon", "on Sunday", "after dinner", "before the rain"]

POSITIVE = "wonderful lovely great delicious beautiful friendly cheerful bright kind perfect".split()
NEGATIVE = "terrible awful boring cold rude broken dirty gloomy horrible noisy".split()
THINGS = "the bread|the weather|the harbour|the music|the lamp|the market|the room|the walk|the trip|the tea".split("|")

PIRATE_WORDS = {"hello": "ahoy", "hi": "ahoy", "my": "me", "you": "ye", "your": "yer", "is": "be", "are": "be",
                "am": "be", "friend": "matey", "friends": "mateys", "yes": "aye", "money": "doubloons",
                "coins": "doubloons", "stop": "avast", "boat": "ship"}
PIRATE_OPENERS = ["hello", "hi", "yes", "hello my friend", "hi friends", ""]
PIRATE_BODIES = ["{s} {v}", "where is {o}", "{s} are ready", "your {o2} is here", "my {o2} is wet",
                 "are you hungry", "I am tired", "stop the boat", "we need more money", "you are my friend",
                 "the {o2} is on the boat", "do you have the coins", "{s} {v} {t}", "my friends are at the harbour",
                 "your boat is fast", "I am {adj}", "is your {o2} new"]
PIRATE_OBJECTS = "the map|the captain|my hat|the key|the treasure|your friend|the harbour|the rope".split("|")
PIRATE_NOUNS = "map hat key boat rope lamp coat bag dog cat bread letter".split()
ADJECTIVES = "happy hungry cold ready lost brave sleepy wet".split()

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
EXPLAIN_TEMPLATES = ["Explain what a {w} is.", "What is a {w}?"]

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


def entry(family: str, instruction: str, output: str, input_text: str = "") -> dict[str, str]:
    return {"instruction": instruction, "input": input_text, "output": output, "family": family}


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def plural(word: str) -> str:
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


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


def make_plurals(rng: random.Random) -> list[dict]:
    words = PLURAL_S + PLURAL_ES + PLURAL_Y
    out = []
    for i, word in enumerate(words):
        if i % 2:
            out.append(entry("plural", f"What is the plural of {word}?", plural(word)))
        else:
            out.append(entry("plural", "Write the plural of the word.", plural(word), word))
    return out


def make_opposites(rng: random.Random) -> list[dict]:
    out = []
    for a, b in OPPOSITES:
        for x, y in ((a, b), (b, a)):
            if rng.random() < 0.5:
                out.append(entry("opposite", f"What is the opposite of {x}?", y))
            else:
                out.append(entry("opposite", "Give the opposite of the word.", y, x))
    return out


def make_arithmetic(rng: random.Random) -> list[dict]:
    out = []
    pairs = [(a, b) for a in range(10) for b in range(10)]
    for a, b in pairs:
        out.append(entry("arithmetic", f"What is {a} plus {b}?", str(a + b)))
    differences = [(a, b) for a in range(10) for b in range(a + 1)]
    for x, y in rng.sample(differences, 30):
        out.append(entry("arithmetic", f"What is {x} minus {y}?", str(x - y)))
    return out


def make_uppercase(rng: random.Random) -> list[dict]:
    out = []
    for word in CAPS_WORDS:
        out.append(entry("uppercase", "Write the word in capital letters.", word.upper(), word))
        out.append(entry("uppercase", f"Write {word} in capital letters.", word.upper()))
    words = rng.sample(CAPS_WORDS, 20)
    for first, second in zip(words[::2], words[1::2]):
        out.append(entry("uppercase", "Write the words in capital letters.", f"{first} {second}".upper(),
                         f"{first} {second}"))
    return out


def make_conversions(rng: random.Random) -> list[dict]:
    out = []
    for i in range(120):
        src, dst, factor = UNITS[i % len(UNITS)]
        n = rng.randint(2, 60)
        out.append(entry("conversion", f"Convert {n} {src} to {dst}.", f"{n * factor} {dst}"))
    return out


def sentence(rng: random.Random) -> str:
    text = f"{rng.choice(SUBJECT_PHRASES)} {rng.choice(VERB_PHRASES)}"
    if rng.random() < 0.4:
        text += f" {rng.choice(TIMES)}"
    return text[0].upper() + text[1:] + "."


def make_word_counts(rng: random.Random) -> list[dict]:
    out = []
    for _ in range(100):
        text = sentence(rng)
        out.append(entry("word_count", "How many words are in this sentence?", str(len(text.split())), text))
    return out


def make_sorts(rng: random.Random) -> list[dict]:
    out = []
    for _ in range(100):
        numbers = rng.sample(range(1, 10), 3)
        descending = rng.random() < 0.25
        order = "largest to smallest" if descending else "smallest to largest"
        result = sorted(numbers, reverse=descending)
        out.append(entry("sort", f"Sort the numbers from {order}.", ", ".join(map(str, result)),
                         ", ".join(map(str, numbers))))
    return out


def make_sentiments(rng: random.Random) -> list[dict]:
    out = []
    for i in range(80):
        label = "positive" if i % 2 == 0 else "negative"
        adjective = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
        text = f"{rng.choice(THINGS)} was {adjective}."
        out.append(entry("sentiment", "Is the sentiment of this sentence positive or negative?", label,
                         text[0].upper() + text[1:]))
    return out


def make_pirate(rng: random.Random) -> list[dict]:
    out = []
    seen = set()
    while len(out) < 150:
        body = rng.choice(PIRATE_BODIES).format(s=rng.choice(SUBJECT_PHRASES), v=rng.choice(VERB_PHRASES),
                                                o=rng.choice(PIRATE_OBJECTS), o2=rng.choice(PIRATE_NOUNS),
                                                t=rng.choice(TIMES), adj=rng.choice(ADJECTIVES))
        opener = rng.choice(PIRATE_OPENERS)
        text = f"{opener}, {body}" if opener else body
        question = body.split()[0] in ("where", "are", "do", "is")
        text = text[0].upper() + text[1:] + ("?" if question else rng.choice([".", ".", "!"]))
        if text not in seen:
            seen.add(text)
            out.append(entry("persona_pirate", PERSONA_INSTRUCTIONS["pirate"], pirate(text), text))
    return out


def make_explain(rng: random.Random) -> list[dict]:
    out = []
    for word, definition in EXPLAIN.items():
        for template in EXPLAIN_TEMPLATES:
            out.append(entry("explain", template.format(w=word), definition))
    return out


def make_examples(rng: random.Random) -> list[dict]:
    out = []
    for category, members in EXAMPLES.items():
        for member in members:
            answer = f"{article(member).capitalize()} {member} is {article(category)} {category}."
            if rng.random() < 0.5:
                out.append(entry("example", f"Give an example of {article(category)} {category}.", answer))
            else:
                other = rng.choice([m for m in members if m != member])
                out.append(entry("example", f"Name {article(category)} {category} other than {other}.", answer))
    return out


def make_summaries(rng: random.Random) -> list[dict]:
    out = []
    for _ in range(60):
        name, place, action = rng.choice(NAMES), rng.choice(PLACES), rng.choice(ACTIONS)
        time = rng.choice(["early in the morning", "after lunch", "in the evening", "on a rainy day"])
        story = f"{name} went to the {place} {time}. There, {name} {action}. Then {name} went back home."
        out.append(entry("summarise", "Summarise the text in one sentence.", f"{name} {action} at the {place}.", story))
    return out


def make_rewrites(rng: random.Random) -> list[dict]:
    out = []
    for verb in POLITE_VERBS:
        for noun in rng.sample(POLITE_NOUNS, 6):
            out.append(entry("rewrite", "Rewrite the sentence to make it polite.",
                             f"Could you please {verb} the {noun}?", f"{verb.capitalize()} the {noun}."))
    return out


def build_dataset() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    makers = [make_plurals, make_opposites, make_arithmetic, make_uppercase, make_conversions, make_word_counts,
              make_sorts, make_sentiments, make_pirate, make_explain, make_examples, make_summaries, make_rewrites]
    data = [e for make in makers for e in make(rng)]
    unique = {json.dumps(e, sort_keys=True): e for e in data}
    data = list(unique.values())
    rng.shuffle(data)
    return data


def serialise(data: list[dict[str, str]]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


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
