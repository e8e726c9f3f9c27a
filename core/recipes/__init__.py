"""Training recipes (METS, D-BETA, FG-CLEP): a typed config plus the model, losses and batch extras they wire."""

from core.recipes.base import Recipe, RecipeConfig, create_recipe, get_recipe_class, list_recipes, register_recipe

__all__ = ["Recipe", "RecipeConfig", "create_recipe", "get_recipe_class", "list_recipes", "register_recipe"]
