"""Small question sets for the report tests, written for distill: a mixed "real" set over eight topics and a
cooking-only set made from other cooking templates. Built from templates and subject lists, deterministic."""

from __future__ import annotations

import random

TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "cooking": (["How long should I bake {s} in the oven?", "What can I use instead of butter in {s}?",
                 "How do I keep {s} from getting soggy?", "Give me a simple recipe for {s} for four people.",
                 "What spices go well with {s}?"],
                ["banana bread", "roast chicken", "lasagna", "apple pie", "sourdough", "pancakes", "chili",
                 "risotto", "brownies", "meatballs", "quiche", "fried rice"]),
    "programming": (["How do I reverse a list in {s}?", "Why does my {s} program run out of memory?",
                     "Write a {s} function that checks whether a string is a palindrome.",
                     "What is the difference between a thread and a process in {s}?",
                     "How do I read a CSV file with {s}?"],
                    ["Python", "Java", "Rust", "Go", "JavaScript", "C++", "Kotlin", "Ruby", "Haskell", "Swift"]),
    "history": (["Why did the {s} collapse?", "Who were the most important rulers of the {s}?",
                 "How did trade work in the {s}?", "What caused the wars fought by the {s}?",
                 "Summarize the rise of the {s} in three sentences."],
                ["Roman Empire", "Ottoman Empire", "Mongol Empire", "Byzantine Empire", "Aztec Empire",
                 "Mali Empire", "Han dynasty", "Inca Empire", "Carolingian Empire", "Persian Empire"]),
    "astronomy": (["How far is {s} from the Sun?", "Could humans ever live on {s}?",
                   "What is the atmosphere of {s} made of?", "How was {s} discovered?",
                   "Why does {s} look the way it does through a telescope?"],
                  ["Mars", "Jupiter", "Saturn", "Venus", "Neptune", "Uranus", "Mercury", "Pluto", "the Moon",
                   "Titan"]),
    "finance": (["Should I pay off my {s} before investing?", "How does interest on a {s} work?",
                 "What are the tax rules for a {s}?", "Explain the risks of a {s} to a beginner.",
                 "How do I compare two offers for a {s}?"],
                ["mortgage", "student loan", "credit card debt", "car loan", "retirement account",
                 "savings bond", "index fund", "personal loan", "pension", "brokerage account"]),
    "fitness": (["How many times a week should I do {s}?", "What muscles does {s} train?",
                 "How do I avoid injuries when doing {s}?", "Make a four-week plan to improve at {s}.",
                 "Is {s} good for losing weight?"],
                ["squats", "running", "swimming", "yoga", "deadlifts", "cycling", "push-ups", "rowing",
                 "pilates", "jump rope"]),
    "travel": (["What should I pack for a week in {s}?", "When is the cheapest time to fly to {s}?",
                "Which neighbourhoods should I stay in when visiting {s}?", "Plan a three-day trip to {s}.",
                "Do I need a visa to travel to {s}?"],
               ["Lisbon", "Tokyo", "Mexico City", "Marrakesh", "Reykjavik", "Hanoi", "Buenos Aires", "Cape Town",
                "Istanbul", "Vancouver"]),
    "gardening": (["When should I plant {s}?", "Why are the leaves of my {s} turning yellow?",
                   "How often should I water {s}?", "What soil do {s} grow best in?",
                   "How do I protect {s} from pests?"],
                  ["tomatoes", "roses", "basil", "strawberries", "orchids", "potatoes", "lavender", "cucumbers",
                   "tulips", "blueberries"]),
}

COOKING_ONLY = (["Can I freeze {s} and reheat it later?", "What wine pairs well with {s}?",
                 "How do I make {s} without an oven?", "Why did my {s} come out dry?",
                 "What is the secret to a crispy {s}?", "How much salt should go into {s}?"],
                ["banana bread", "roast chicken", "lasagna", "apple pie", "sourdough", "pancakes", "chili",
                 "risotto", "brownies", "meatballs", "quiche", "fried rice", "gnocchi", "paella", "dumplings"])


def mixed(per_topic: int = 40, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for templates, subjects in TOPICS.values():
        pairs = [(t, s) for t in templates for s in subjects]
        out += [t.format(s=s) for t, s in rng.sample(pairs, min(per_topic, len(pairs)))]
    rng.shuffle(out)
    return out


def cooking(n: int = 80, seed: int = 1) -> list[str]:
    templates, subjects = COOKING_ONLY
    pairs = [(t, s) for t in templates for s in subjects]
    return [t.format(s=s) for t, s in random.Random(seed).sample(pairs, min(n, len(pairs)))]
