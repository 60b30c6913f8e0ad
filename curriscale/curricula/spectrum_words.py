"""The small, fixed vocabulary the synthetic task spectrum is written in.

Everything a spectrum document says comes from these lists, so the whole corpus stays at a few
hundred distinct words that a tiny model can learn. The lists are graded on purpose: level 0 uses
short everyday words, higher levels use longer and rarer ones, so that reading difficulty rises with
the level and a reading-age scorer can order the ladder. Per-seed choices (which names are held out,
which facts hold) are made in `spectrum.py`; nothing here is random.
"""

# Short given names; a seed splits them into training names and held-out (out-of-distribution) names.
NAMES = (
    "Tom", "Ann", "Ben", "Sam", "Max", "Eva", "Lily", "Jack", "Mia", "Leo", "Zoe", "Ida", "Finn",
    "Rosa", "Omar", "Nina", "Ivan", "Yuki", "Ravi", "Amir", "Lena", "Kofi", "Tara", "Hugo", "Ella",
    "Noah", "Maya", "Luca", "Sara", "Adam", "Emil", "Olga", "Petra", "Karl", "Anya", "Dara", "Jonas",
    "Kira", "Malik", "Nora", "Otto", "Paul", "Rita", "Sven", "Tess", "Uma", "Vera", "Wade", "Xena",
    "Yara", "Zack", "Alma", "Bruno", "Cleo", "Dina", "Ezra", "Fay", "Gus", "Hana", "Igor", "Jada",
    "Kemal", "Lars", "Mona",
)  # fmt: skip

# Level 0: a tiny grammar of short, common words.
SIMPLE_NOUNS = ("cat", "dog", "cow", "pig", "hen", "fox", "bird", "fish", "frog", "duck", "bee", "owl")
SIMPLE_THINGS = ("cup", "hat", "bed", "box", "ball", "bag", "car", "bus", "sun", "mat", "pot", "toy")
SIMPLE_ADJECTIVES = ("big", "red", "old", "wet", "hot", "sad", "fat", "small", "good", "new")
SIMPLE_INTRANSITIVE = ("ran", "sat", "hid", "fell", "sang", "slept", "ate", "swam", "hopped")
SIMPLE_TRANSITIVE = ("saw", "had", "got", "hit", "fed", "took", "hugged", "met")

# Level 1: cause -> consequence pairs. A coherent document joins a cause with its own consequence;
# a subtle negative joins it with another pair's consequence; an easy negative garbles the word order.
NSP_PAIRS = (
    ("{n} was hungry after the walk.", "{c} {n} cooked some hot soup."),
    ("{n} saw the garden was dry.", "{c} {n} watered the plants."),
    ("{n} heard loud thunder outside.", "{c} {n} closed every window."),
    ("{n} found a wet puppy outside.", "{c} {n} dried it with a towel."),
    ("{n} wanted to send a letter.", "{c} {n} bought a stamp in town."),
    ("{n} was tired after work.", "{c} {n} went to bed early."),
    ("{n} spilled milk on the floor.", "{c} {n} wiped it up with a cloth."),
    ("{n} lost the door key.", "{c} {n} looked under every chair."),
    ("{n} saw the bike tyre was flat.", "{c} {n} pumped air into it."),
    ("{n} wanted to play the piano.", "{c} {n} practised every evening."),
    ("{n} forgot the umbrella today.", "{c} {n} got wet in the rain."),
    ("{n} planted tomato seeds.", "{c} {n} picked ripe tomatoes later."),
    ("{n} missed the morning bus.", "{c} {n} waited for the next one."),
    ("{n} got a present from a cousin.", "{c} {n} wrote a thank you card."),
    ("{n} burned the toast.", "{c} {n} opened a window for the smoke."),
    ("{n} dropped a glass on the floor.", "{c} {n} swept up the pieces."),
    ("{n} felt cold in the snow.", "{c} {n} put on a warm coat."),
    ("{n} had a bad toothache.", "{c} {n} visited the dentist."),
    ("{n} finished a long book.", "{c} {n} took it back to the library."),
    ("{n} wanted to bake a cake.", "{c} {n} bought flour and eggs."),
)
NSP_CONNECTORS = ("So", "Then", "Soon", "Later")

# Level 2: a fact table over invented countries, drawn per seed and memorised across splits.
COUNTRIES = (
    "Varnia", "Drescovia", "Molbaria", "Quentaro", "Lusovia", "Bravenia", "Costrania", "Elmoria",
    "Fennoria", "Galdovia", "Hestoria", "Istravia", "Jorvania", "Kelmoria", "Lindavia", "Marovia",
    "Norvania", "Ostravia", "Pelmoria", "Rostavia", "Sardovia", "Torvania", "Ulmaria", "Veltravia",
    "Wendovia", "Zantoria", "Ardania", "Belsovia", "Corvania", "Delmaria",
)  # fmt: skip
CITIES = (
    "Olbek", "Tarsund", "Vemholt", "Kirrano", "Dunmere", "Ashford", "Brenholm", "Calvero",
    "Eastmoor", "Falkirn", "Glenmark", "Harwick", "Ildmoor", "Jesperow", "Karsholm", "Lowther",
    "Meriden", "Northam", "Orsvik", "Pellham", "Quarrow", "Ravensby", "Selmark", "Thornbury",
    "Ulverton", "Vexholm", "Westerby", "Yarmouth", "Zennor", "Alderney",
)  # fmt: skip
# relation -> (sentence up to the object, object pool); a city is the capital of one country only.
FACT_RELATIONS = {
    "capital": ("The capital of {s} is", CITIES),
    "animal": ("The animal of {s} is the", ("tiger", "eagle", "wolf", "bear", "falcon", "dolphin", "lion", "panther", "buffalo", "heron")),
    "colour": ("The flag of {s} is", ("crimson", "purple", "orange", "silver", "golden", "turquoise", "emerald", "scarlet")),
    "food": ("The dish of {s} is", ("dumplings", "porridge", "noodles", "pancakes", "chowder", "risotto", "lentils", "pastries")),
}  # fmt: skip

# Level 3: people travel to places; the question asks where one of them went.
PLACES = (
    "kitchen", "garden", "bedroom", "hallway", "office", "library", "bathroom", "cellar", "balcony",
    "garage", "attic", "pantry", "classroom", "workshop",
)  # fmt: skip
TRAVEL_TIMES = ("This morning", "Later", "Afterwards", "That evening", "Yesterday")
TRAVEL_VERBS = ("travelled", "journeyed", "wandered", "hurried", "returned")
TRAVEL_MANNERS = ("quietly", "quickly", "slowly", "happily", "eagerly", "secretly")

# Level 4: objects inside containers inside containers, the last one left in a place.
OBJECTS = (
    "apple", "coin", "key", "ring", "letter", "pencil", "ticket", "marble", "button", "feather",
    "whistle", "compass", "diamond", "bracelet",
)  # fmt: skip
CONTAINERS = (
    "box", "basket", "suitcase", "backpack", "drawer", "cupboard", "envelope", "bucket", "crate",
    "wardrobe", "trunk", "satchel", "cabinet", "chest",
)  # fmt: skip
CONTAIN_TEMPLATE = "The {x} was carefully deposited inside the {y}."
LEAVE_TEMPLATE = "The {y} was subsequently transported into the {p}."

# Level 5: word problems; each step adds or subtracts a small number of items.
ITEMS = ("apples", "coins", "marbles", "stickers", "pencils", "cookies", "envelopes", "seashells")
START_TEMPLATE = "At first, {n} possessed {k} {i} altogether."
ADD_TEMPLATES = (
    "Then {n} purchased {k} additional {i} at the market.",
    "Then {n} received {k} more {i} from a generous neighbour.",
    "Later, {n} discovered {k} extra {i} underneath the staircase.",
)
SUBTRACT_TEMPLATES = (
    "Afterwards, {n} donated {k} of the {i} to a classmate.",
    "Then {n} accidentally dropped {k} of the {i} into the river.",
    "Later, {n} exchanged {k} of the {i} for a postcard.",
)
