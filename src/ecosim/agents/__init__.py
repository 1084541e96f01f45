"""The five kinds of agent, one module each. All are Mesa ``FixedAgent``s on the network."""

from ecosim.agents.enterprise import Enterprise, EnterprisePopulation
from ecosim.agents.government import Government
from ecosim.agents.investor import Investor
from ecosim.agents.technology_manager import TechnologyManager
from ecosim.agents.university import University

__all__ = ["Enterprise", "EnterprisePopulation", "Government", "Investor", "TechnologyManager", "University"]
