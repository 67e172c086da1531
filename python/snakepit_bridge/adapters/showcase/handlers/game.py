"""A word-guessing game (the GameBot seed): one session per game, owned by the
host. A game belongs to a guild and has a mode; every guess is processed
against the state in the session, so any worker can take any guess."""

from ....session_errors import VariableNotFoundError

MODES = ["two_player", "knockout", "race"]


class GameOverError(Exception):
    """A guess for a game that is already solved."""


def start(ctx, guild_id: str, mode: str, word: str) -> dict:
    ctx.register_variable("guild_id", "string", guild_id, {"min_length": 1})
    ctx.register_variable("mode", "choice", mode, {"choices": MODES})
    ctx.register_variable("target", "string", word, {"pattern": "[a-z]+"})
    ctx.register_variable("guesses", "integer", 0, {"min": 0})
    ctx.register_variable("solved", "boolean", False)
    ctx.set("winner", None)
    return {"game_id": ctx.session_id, "guild_id": guild_id, "mode": mode, "letters": len(word)}


def guess(ctx, player: str, word: str) -> dict:
    state = ctx.get_many(["target", "solved"])
    if state["solved"]:
        raise GameOverError(f"game {ctx.session_id} is already solved")
    count = ctx.increment("guesses")
    target = state["target"]
    correct = word == target
    if correct:
        ctx.set_many({"solved": True, "winner": player})
    # Letters in the right place, as in Wordle's green squares.
    in_place = sum(1 for a, b in zip(word, target) if a == b)
    return {"player": player, "word": word, "correct": correct, "in_place": in_place,
            "guesses": count}


def status(ctx) -> dict:
    try:
        values = ctx.get_many(["guild_id", "mode", "guesses", "solved", "winner"])
    except VariableNotFoundError:
        return {"game_id": ctx.session_id, "started": False}
    values.update({"game_id": ctx.session_id, "started": True})
    return values
