"""Hand-written emotion cue lexicon for `emotion.text` (original work, CC0).

Each emotion maps cue -> weight (about 1 = a clear cue, 0.3-0.6 = a hint). A cue is
- a word (`"furious"`),
- a stem ending in `*` matching any word that starts with it (`"disgust*"`: disgust, disgusting),
- a phrase of several tokens separated by spaces (`"no way"`, `"really ?"`); `!` and `?` are tokens.
Phrases are matched before words and are never negated ("can't believe" is itself a cue).
A word may cue several emotions ("ugh": disgust and anger).

Written from general knowledge of English emotion vocabulary (in the spirit of the categories of
Ekman's six basic emotions), then adjusted against the `dev` split of
tests/data/emotion_sentences.csv only.
"""

from __future__ import annotations

from emotion.state import Emotion

# Words that negate a cue within the next `NEGATION_WINDOW` tokens ("not happy", "never scared").
NEGATORS: frozenset[str] = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "hardly",
    "cannot", "cant", "dont", "didnt", "isnt", "wasnt", "arent", "werent", "wont", "doesnt",
    "aint", "couldnt", "shouldnt", "wouldnt", "havent", "hasnt", "hadnt",
})
NEGATION_WINDOW = 3
# A negator followed by one of these intensifies rather than negates ("can't stop smiling").
NEGATION_BREAKERS: frozenset[str] = frozenset({"stop", "help", "wait"})

# Neutral cues only consume their tokens: "best friend" is not joy, "feel like" not sadness.
CUES: dict[Emotion, dict[str, float]] = {
    Emotion.NEUTRAL: {"best friend": 0.0, "good morning": 0.0, "good night": 0.0},
    Emotion.HAPPY: {
        "happy": 1.0, "happier": 1.0, "happiest": 1.0, "happiness": 1.0, "glad": 1.0, "joy*": 1.0,
        "delight*": 1.0, "thrill*": 1.0, "excited": 1.0, "exciting": 0.8, "awesome": 1.0,
        "amazing": 0.8, "wonderful": 1.0, "fantastic": 1.0, "great": 0.6, "love": 0.8, "loved": 0.8,
        "lovely": 1.0, "loving": 0.6, "yay": 1.2, "woo*": 1.0, "hooray": 1.2, "congrat*": 1.0,
        "proud": 1.0, "grateful": 1.0, "thankful": 1.0, "thank": 0.6, "thanks": 0.5, "blessed": 1.0,
        "celebrat*": 1.0, "fun": 0.8, "enjoy*": 0.8, "smil*": 1.0, "laugh*": 0.8, "haha*": 1.0,
        "lol": 0.8, "cheer*": 0.8, "pleased": 1.0, "content": 0.8, "relieved": 0.8, "relief": 0.8,
        "excellent": 1.0, "brilliant": 1.0, "perfect": 0.8, "beautiful": 0.8, "nice": 0.6,
        "cool": 0.4, "sweet": 0.6, "adorable": 1.0, "cute": 0.8, "best": 0.8, "won": 0.6,
        "win": 0.5, "ecstatic": 1.2, "overjoyed": 1.2, "elated": 1.2, "stoked": 1.0, "psyched": 1.0,
        "peace": 0.6, "peaceful": 0.8, "relax*": 0.6, "lucky": 0.8, "good": 0.5, "kind": 0.5,
        "hilarious": 1.0, "funny": 0.6, "made my day": 1.2, "can't wait": 0.8, "cant wait": 0.8,
        "yes !": 0.8, "promoted": 1.0, "passed": 0.5, "promotion": 0.6,
        "😊": 1.0, "😀": 1.0, "😃": 1.0, "😄": 1.0, "😁": 1.0, "😂": 0.8, "🥰": 1.0, "😍": 1.0,
        "❤": 0.8, "🎉": 1.0, "👍": 0.5, "🙂": 0.6,
    },
    Emotion.SAD: {
        "sad": 1.0, "sadder": 1.0, "saddest": 1.0, "sadness": 1.0, "unhappy": 1.0, "miss": 1.0,
        "missed": 0.5, "lonely": 1.2, "loneliness": 1.2, "alone": 0.8, "cry": 1.0, "crying": 1.0,
        "cried": 1.0, "tears": 1.0, "tearful": 1.0, "heartbr*": 1.2, "broken": 0.6, "depress*": 1.2,
        "down": 0.4, "grief": 1.2, "griev*": 1.2, "mourn*": 1.2, "lost": 0.6, "loss": 0.8,
        "died": 1.0, "dead": 0.6, "death": 0.8, "passed away": 1.2, "funeral": 1.0,
        "hopeless": 1.2, "helpless": 0.8, "empty": 0.8, "hurt*": 0.8, "pain": 0.6, "painful": 0.8,
        "disappoint*": 1.0, "fail*": 0.8, "regret*": 1.0, "sorry": 0.4, "sigh": 1.0,
        "sorry to hear": 1.0, "so sorry": 0.8, "oh dear": 0.8,
        "miserable": 1.2, "misery": 1.2, "gloomy": 1.0, "tired": 0.5, "exhausted": 0.6,
        "pointless": 1.0, "worthless": 1.0, "meaningless": 1.0, "reject*": 0.8, "goodbye": 0.6,
        "gone": 0.4, "hard": 0.3, "sucks": 0.4, "upset": 0.6, "devastat*": 1.2, "sorrow*": 1.2,
        "homesick": 1.0, "hard year": 0.8, "hard time": 0.8, "rough day": 0.8,
        "tough time": 0.8, "bad day": 0.8, "moved away": 0.6, "nobody understands": 1.0,
        "no one understands": 1.0, "abandoned": 1.0, "broke up": 1.2, "dumped": 1.0,
       
        "😢": 1.2, "😭": 1.2, "😞": 1.0, "😔": 1.0, "☹": 1.0, "🙁": 0.8, "💔": 1.2,
    },
    Emotion.ANGRY: {
        "angry": 1.2, "anger": 1.2, "angrier": 1.2, "mad": 0.8, "furious": 1.4, "fury": 1.4,
        "livid": 1.4, "rage": 1.4, "raging": 1.4, "outrag*": 1.2, "irritat*": 1.0, "annoy*": 1.0,
        "frustrat*": 1.0, "pissed": 1.2, "hate": 1.0, "hated": 1.0, "hating": 1.0, "stupid": 0.8,
        "idiot*": 1.0, "ridiculous": 1.0, "unacceptable": 1.0, "unbelievable": 0.4,
        "how dare": 1.4, "dare": 0.6, "shut up": 1.2, "stop": 0.6, "quit": 0.3,
        "sick and tired": 1.4, "fed up": 1.2, "enough": 0.4, "rude": 1.0, "unfair": 0.8,
        "liar": 1.0, "lied": 1.0, "lying": 0.8, "scam": 1.0, "ruin*": 0.8, "damn": 0.6,
        "hell": 0.6, "screw*": 0.6, "fuck*": 0.8, "wtf": 0.8, "blood boil": 1.4,
        "drives me crazy": 1.2, "insult*": 1.0, "disrespect*": 1.0, "ignor*": 0.6, "useless": 0.8,
        "excuse*": 0.6, "yell*": 0.8, "scream": 0.5, "argh*": 1.0, "grr*": 1.0, "sick of": 1.0,
        "done with": 1.0, "listen to me": 0.8, "like garbage": 1.0, "like dirt": 1.0,
        "take it anymore": 1.0, "resent*": 1.0, "bitter": 0.6, "hostile": 0.8, "offend*": 0.8,
        "nonsense": 0.8, "bullshit": 1.0, "crap": 0.6, "ugh": 0.4, "refuse*": 0.5,
        "terrible": 0.5, "worst": 0.6,
        "😠": 1.2, "😡": 1.4, "🤬": 1.4, "💢": 1.0,
    },
    Emotion.SURPRISED: {
        "wow": 1.2, "whoa": 1.2, "woah": 1.2, "omg": 1.0, "oh my god": 1.2, "oh my gosh": 1.2,
        "oh my goodness": 1.2, "no way": 1.2, "really ?": 1.0, "seriously ?": 1.0, "really": 0.3,
        "seriously": 0.4, "what ?": 1.0, "what !": 1.0, "wait": 0.6, "huh": 0.8, "surpris*": 1.2,
        "shock*": 1.2, "stun*": 1.2, "astonish*": 1.2, "amazed": 1.0, "unexpected*": 1.2,
        "didn't expect": 1.2, "didnt expect": 1.2, "did not expect": 1.2, "wasn't expecting": 1.2,
        "wasnt expecting": 1.2, "can't believe": 1.0, "cant believe": 1.0, "speechless": 1.0,
        "holy": 0.8, "gosh": 0.6, "kidding": 1.0, "no idea": 0.8, "out of nowhere": 1.2,
        "saw it coming": 1.0, "see that coming": 1.0, "would have guessed": 1.0, "since when": 1.0,
        "suddenly": 0.6, "twist": 0.8, "jaw dropped": 1.2, "mind blown": 1.2, "unreal": 0.8,
        "incredible": 0.5, "are you serious": 1.2, "is that true": 0.8, "you're telling me": 1.0, "get out of here": 1.0, "is that really": 0.8, "oh !": 0.8,
        "? !": 0.8, "! ?": 0.8, "😮": 1.2, "😲": 1.2, "😯": 1.0, "🤯": 1.2, "😳": 0.8,
    },
    Emotion.FEARFUL: {
        "scared": 1.2, "scary": 1.0, "scare*": 1.0, "afraid": 1.2, "fear*": 1.2, "terrified": 1.4,
        "terrifying": 1.4, "terrifies": 1.4, "terror": 1.4, "frighten*": 1.2, "fright": 1.2,
        "nervous*": 1.0, "anxious": 1.0, "anxiety": 1.0, "panic*": 1.2, "worr*": 1.0, "dread*": 1.2,
        "petrified": 1.4, "horrified": 0.8, "horror": 0.8, "nightmare*": 1.0, "threat*": 1.0,
        "danger*": 1.0, "unsafe": 1.0, "uneasy": 1.0, "tense": 0.6, "shaking": 0.8, "trembl*": 1.0,
        "what if": 1.0, "stalk*": 1.0, "creepy": 0.4, "spooked": 1.0,
        "paranoid": 1.0, "phobia": 1.0, "help": 0.5, "alarm*": 0.6, "concerned": 0.6,
        "can't breathe": 0.8, "cant breathe": 0.8, "barely breathe": 0.8,
       
        "😨": 1.2, "😰": 1.2, "😱": 1.2, "😟": 0.8,
    },
    Emotion.DISGUSTED: {
        "disgust*": 1.4, "gross": 1.2, "grossed": 1.2, "ew": 1.4, "yuck*": 1.4, "blech": 1.4,
        "ugh": 0.5, "nasty": 1.0, "vile": 1.2, "revolt*": 1.2, "repuls*": 1.2, "repugnant": 1.2,
        "sicken*": 1.2, "makes me sick": 1.0, "making me sick": 1.0, "nause*": 1.2, "vomit*": 1.2,
        "puke*": 1.2, "throw up": 1.2, "stink*": 1.2, "stank": 1.2, "smell*": 0.8, "reek*": 1.2,
        "rotten": 1.2, "rot": 1.0, "rotting": 1.2, "mold*": 1.0, "mould*": 1.0, "filth*": 1.2,
        "dirty": 0.8, "slime": 1.0, "slimy": 1.0, "greasy": 0.8, "maggot*": 1.2,
        "cockroach*": 1.0, "roach*": 1.0, "poop": 1.0, "sewage": 1.0, "hypocri*": 0.8, "creepy": 0.6,
        "icky": 1.2, "putrid": 1.4, "foul": 1.0, "rancid": 1.4, "sour": 0.6, "spoiled": 0.6,
        "pervert*": 1.0, "grime": 1.0, "can't stand": 0.6, "cant stand": 0.6,
        "🤢": 1.4, "🤮": 1.4, "🤧": 0.3,
    },
}

# Interjections spelled with repeated letters ("ewww", "yaaay", "wooow"): regex -> emotion, weight.
ELONGATED: tuple[tuple[str, Emotion, float], ...] = (
    (r"e+w+", Emotion.DISGUSTED, 1.4),
    (r"ya+y+", Emotion.HAPPY, 1.2),
    (r"wo+w+", Emotion.SURPRISED, 1.2),
    (r"who+a+", Emotion.SURPRISED, 1.2),
    (r"u+g+h+", Emotion.DISGUSTED, 0.5),
    (r"(ha){2,}h?", Emotion.HAPPY, 1.0),
    (r"no+o+", Emotion.SAD, 0.4),
)
